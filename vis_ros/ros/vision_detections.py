"""vision_msgs (4.x) views of the node's outputs: Detection2DArray, Detection3DArray, LabelInfo.

What the rest of the ecosystem (Isaac ROS decoders, ultralytics_ros, most
downstream tools) reads, so users need no adapter node. Per instance: the
track id as `id` (a string, as vision_msgs has it), one hypothesis with the
class *name* as `class_id` and the track's score. 2D boxes are float pixels,
centre and size, with edges on pixel boundaries: the instance box
x..x+width covers pixels x to x+width-1, so its centre is x + width / 2.
3D boxes are the fused oriented boxes in the 3D output's frame; the
hypothesis carries the same pose (covariance zero: not estimated). Instances
whose depth gave no measurement (confidence 0 in ~/instances_3d) have no 3D
detection. `vm` is the imported vision_msgs.msg module.
"""
from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from geometry_msgs.msg import PoseWithCovariance, Vector3
from std_msgs.msg import Header

from vis_ros.core.data.instances import Instance3DFrame, InstanceFrame
from vis_ros.ros.convert import box_pose, header_msg


def detections_2d_msg(vm: ModuleType, frame: InstanceFrame):
    """Build the Detection2DArray of a published frame (the header of ~/instances)."""
    header = header_msg(frame.stamp_ns, frame.frame_id)
    detections = []
    for instance in frame.instances:
        box = instance.box
        centre = vm.Pose2D(position=vm.Point2D(x=box.x + box.width / 2.0, y=box.y + box.height / 2.0))
        detections.append(vm.Detection2D(
            header=header, id=str(instance.track_id),
            results=[vm.ObjectHypothesisWithPose(hypothesis=vm.ObjectHypothesis(
                class_id=instance.class_name, score=float(instance.score)))],
            bbox=vm.BoundingBox2D(center=centre, size_x=float(box.width), size_y=float(box.height))))
    return vm.Detection2DArray(header=header, detections=detections)


def detections_3d_msg(vm: ModuleType, frame: Instance3DFrame):
    """Build the Detection3DArray of a fused frame (the header of ~/instances_3d)."""
    header = header_msg(frame.stamp_ns, frame.frame_id)
    detections = []
    for instance in frame.instances:
        if instance.confidence <= 0.0:
            continue
        pose = box_pose(instance)
        size = Vector3(x=instance.size[0], y=instance.size[1], z=instance.size[2])
        detections.append(vm.Detection3D(
            header=header, id=str(instance.track_id),
            results=[vm.ObjectHypothesisWithPose(
                hypothesis=vm.ObjectHypothesis(class_id=instance.class_name, score=float(instance.score)),
                pose=PoseWithCovariance(pose=pose))],
            bbox=vm.BoundingBox3D(center=pose, size=size)))
    return vm.Detection3DArray(header=header, detections=detections)


def label_info_msg(vm: ModuleType, stamp, class_names: Sequence[str], threshold: float):
    """Build the LabelInfo of the model: class id -> name, and the score threshold."""
    return vm.LabelInfo(header=Header(stamp=stamp),
                        class_map=[vm.VisionClass(class_id=i, class_name=name) for i, name in enumerate(class_names)],
                        threshold=float(threshold))
