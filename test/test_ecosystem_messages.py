"""vision_msgs and moveit_msgs: the layout the node writes to, and what it writes.

LAYOUT is written from the upstream message definitions (vision_msgs 4.1.1,
moveit_msgs 2.6.0 and object_recognition_msgs on their ROS 2 branches). The
installed packages, real ones on a robot or the test-only ones built from
test/interfaces here, are held to it field by field, so a test-only package
that drifted from upstream (or an upstream change) fails here. The bytes the
node publishes (and process-bag writes, vis_ros.io.output_messages) are
read back with the installed package's own deserializer.
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402

from vis_ros.core.data.instances import (  # noqa: E402
    Instance2D,
    Instance3D,
    Instance3DFrame,
    InstanceFrame,
    PixelBox,
    TrackState,
)
from vis_ros.core.outputs.collision_scene import CollisionOperation, CollisionUpdate  # noqa: E402
from vis_ros.io.output_messages import OutputMessages  # noqa: E402
from vis_ros.ros.collision_objects import MIN_BOX_SIZE_M, collision_object_msg  # noqa: E402

LAYOUT = {
    "vision_msgs/Point2D": [("x", "double"), ("y", "double")],
    "vision_msgs/Pose2D": [("position", "vision_msgs/Point2D"), ("theta", "double")],
    "vision_msgs/BoundingBox2D": [("center", "vision_msgs/Pose2D"), ("size_x", "double"), ("size_y", "double")],
    "vision_msgs/BoundingBox3D": [("center", "geometry_msgs/Pose"), ("size", "geometry_msgs/Vector3")],
    "vision_msgs/ObjectHypothesis": [("class_id", "string"), ("score", "double")],
    "vision_msgs/ObjectHypothesisWithPose": [("hypothesis", "vision_msgs/ObjectHypothesis"),
                                             ("pose", "geometry_msgs/PoseWithCovariance")],
    "vision_msgs/Detection2D": [("header", "std_msgs/Header"),
                                ("results", "sequence<vision_msgs/ObjectHypothesisWithPose>"),
                                ("bbox", "vision_msgs/BoundingBox2D"), ("id", "string")],
    "vision_msgs/Detection2DArray": [("header", "std_msgs/Header"),
                                     ("detections", "sequence<vision_msgs/Detection2D>")],
    "vision_msgs/Detection3D": [("header", "std_msgs/Header"),
                                ("results", "sequence<vision_msgs/ObjectHypothesisWithPose>"),
                                ("bbox", "vision_msgs/BoundingBox3D"), ("id", "string")],
    "vision_msgs/Detection3DArray": [("header", "std_msgs/Header"),
                                     ("detections", "sequence<vision_msgs/Detection3D>")],
    "vision_msgs/VisionClass": [("class_id", "uint16"), ("class_name", "string")],
    "vision_msgs/LabelInfo": [("header", "std_msgs/Header"), ("class_map", "sequence<vision_msgs/VisionClass>"),
                              ("threshold", "float")],
    "object_recognition_msgs/ObjectType": [("key", "string"), ("db", "string")],
    "moveit_msgs/CollisionObject": [
        ("header", "std_msgs/Header"), ("pose", "geometry_msgs/Pose"), ("id", "string"),
        ("type", "object_recognition_msgs/ObjectType"), ("primitives", "sequence<shape_msgs/SolidPrimitive>"),
        ("primitive_poses", "sequence<geometry_msgs/Pose>"), ("meshes", "sequence<shape_msgs/Mesh>"),
        ("mesh_poses", "sequence<geometry_msgs/Pose>"), ("planes", "sequence<shape_msgs/Plane>"),
        ("plane_poses", "sequence<geometry_msgs/Pose>"), ("subframe_names", "sequence<string>"),
        ("subframe_poses", "sequence<geometry_msgs/Pose>"), ("operation", "octet")],
}
COLLISION_OBJECT_CONSTANTS = {"ADD": b"\x00", "REMOVE": b"\x01", "APPEND": b"\x02", "MOVE": b"\x03"}


def _type(name: str):
    package, message = name.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), message)


@pytest.mark.parametrize("name", sorted(LAYOUT))
def test_the_installed_message_has_the_upstream_fields_in_order(name):
    assert list(_type(name).get_fields_and_field_types().items()) == LAYOUT[name]


def test_collision_object_constants_match_upstream_and_the_core_operations():
    from moveit_msgs.msg import CollisionObject

    assert {k: getattr(CollisionObject, k) for k in COLLISION_OBJECT_CONSTANTS} == COLLISION_OBJECT_CONSTANTS
    for op in CollisionOperation:
        assert getattr(CollisionObject, op.name) == bytes([op.value])


def _frame2d():
    instances = tuple(Instance2D(track_id=tid, class_id=c, class_name=n, score=s, state=TrackState.CONFIRMED, age=3,
                                 box=PixelBox(x, y, w, h), mask=np.ones((h, w), bool))
                      for tid, c, n, s, (x, y, w, h) in [(3, 1, "mug", 0.875, (10, 20, 31, 40)),
                                                         (12, 4, "bottle", 0.5, (0, 0, 1, 1))])
    return InstanceFrame(stamp_ns=1_700_000_000_123_456_789, frame_id="cam", height=480, width=640, keyframe=True,
                         instances=instances)


def test_detections_2d_carry_the_track_ids_classes_scores_and_pixel_boxes():
    from vision_msgs.msg import Detection2DArray

    msg = deserialize_message(OutputMessages().detections_2d(_frame2d()), Detection2DArray)
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id) == (1_700_000_000, 123_456_789,
                                                                                     "cam")
    first, second = msg.detections
    assert first.header == msg.header and (first.id, second.id) == ("3", "12")
    (hypothesis,) = first.results
    assert (hypothesis.hypothesis.class_id, hypothesis.hypothesis.score) == ("1", 0.875)  # the index, as LabelInfo
    box = first.bbox
    assert (box.center.position.x, box.center.position.y, box.center.theta) == (25.5, 40.0, 0.0)
    assert (box.size_x, box.size_y) == (31.0, 40.0)
    assert (second.bbox.center.position.x, second.bbox.size_x) == (0.5, 1.0)  # one pixel: centre mid-pixel


def _instance3d(track_id, confidence, size=(0.2, 0.1, 0.0)):
    return Instance3D(track_id=track_id, class_id=1, class_name="mug", score=0.75, position=(1.0, -2.0, 0.5),
                      orientation=(0.0, 0.0, 0.6, 0.8), size=size, velocity=(0.1, 0.0, 0.0), num_points=400,
                      confidence=confidence)


def test_detections_3d_carry_the_oriented_box_and_leave_out_unmeasured_instances():
    from vision_msgs.msg import Detection3DArray

    frame = Instance3DFrame(stamp_ns=5 * 10**9, frame_id="world",
                            instances=(_instance3d(3, 0.9), _instance3d(4, 0.0)))
    msg = deserialize_message(OutputMessages().detections_3d(frame), Detection3DArray)
    assert msg.header.frame_id == "world" and msg.header.stamp.sec == 5
    (detection,) = msg.detections
    assert detection.id == "3"
    pose = detection.bbox.center
    assert (pose.position.x, pose.position.y, pose.position.z) == (1.0, -2.0, 0.5)
    assert (pose.orientation.z, pose.orientation.w) == (0.6, 0.8)
    assert (detection.bbox.size.x, detection.bbox.size.y, detection.bbox.size.z) == (0.2, 0.1, 0.0)
    (hypothesis,) = detection.results
    assert hypothesis.hypothesis.class_id == "1" and hypothesis.pose.pose == pose


def test_detection_class_id_name_puts_the_class_name_in_the_hypothesis():
    from vision_msgs.msg import Detection2DArray, Detection3DArray

    messages = OutputMessages()
    msg2d = deserialize_message(messages.detections_2d(_frame2d(), class_id="name"), Detection2DArray)
    assert [d.results[0].hypothesis.class_id for d in msg2d.detections] == ["mug", "bottle"]
    frame = Instance3DFrame(stamp_ns=5 * 10**9, frame_id="world", instances=(_instance3d(3, 0.9),))
    msg3d = deserialize_message(messages.detections_3d(frame, class_id="name"), Detection3DArray)
    assert [d.results[0].hypothesis.class_id for d in msg3d.detections] == ["mug"]


def test_label_info_maps_every_class_id_to_its_name():
    from vision_msgs.msg import LabelInfo

    msg = deserialize_message(OutputMessages().label_info(2 * 10**9, ("box", "mug"), 0.4), LabelInfo)
    assert [(c.class_id, c.class_name) for c in msg.class_map] == [(0, "box"), (1, "mug")]
    assert msg.threshold == pytest.approx(0.4) and msg.header.stamp.sec == 2


def test_collision_objects_add_a_box_move_the_pose_only_and_remove_by_id():
    from moveit_msgs.msg import CollisionObject
    from shape_msgs.msg import SolidPrimitive

    mm = importlib.import_module("moveit_msgs.msg")
    instance = _instance3d(9, 1.0)
    add = collision_object_msg(mm, CollisionUpdate(CollisionOperation.ADD, "vis_ros_9", 10**9, "world", instance))
    add = deserialize_message(serialize_message(add), CollisionObject)
    assert (add.operation, add.id, add.header.frame_id) == (CollisionObject.ADD, "vis_ros_9", "world")
    (primitive,) = add.primitives
    assert primitive.type == SolidPrimitive.BOX
    assert list(primitive.dimensions) == [0.2, 0.1, MIN_BOX_SIZE_M]  # a flat box keeps a thickness
    assert add.pose.position.x == 1.0 and add.pose.orientation.z == 0.6
    (at_centre,) = add.primitive_poses
    assert at_centre.orientation.w == 1.0 and at_centre.position.x == 0.0
    move = collision_object_msg(mm, CollisionUpdate(CollisionOperation.MOVE, "vis_ros_9", 2 * 10**9, "world",
                                                    instance))
    assert move.operation == CollisionObject.MOVE and not move.primitives and not move.primitive_poses
    assert move.pose.position.y == -2.0
    remove = collision_object_msg(mm, CollisionUpdate(CollisionOperation.REMOVE, "vis_ros_9", 3 * 10**9, "world"))
    assert (remove.operation, remove.id, len(remove.primitives)) == (CollisionObject.REMOVE, "vis_ros_9", 0)
