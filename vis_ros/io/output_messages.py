"""The node's outputs as serialized ROS 2 messages, built in one place for the node and for bags.

The node publishes these bytes (rclpy takes an already serialized message)
and `vis-ros process-bag` writes the same bytes, so a bag holds exactly what
the node would have published for the same frames. They are built with
`rosbags`' type store, which needs no ROS install: standard messages from
its ROS 2 kilted store, vis_ros's own from this package's `.msg` files, and
vision_msgs from the installed package's definitions where there is one (a
robot: whatever version it has), else from the 4.1.1 definitions shipped in
`io/interfaces/` (a workstation). InstanceArray keeps its own faster writer
(io/instance_wire.py).

Building rosidl objects in Python and letting rclpy serialize them costs
more per frame than this (markers for 20 instances: docs/benchmarks.md).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from vis_ros.core.data.instances import Instance3D, Instance3DFrame, InstanceFrame
from vis_ros.core.data.model_path import share_file
from vis_ros.core.data.stamps import ns_to_sec_nanosec
from vis_ros.core.fusion.memory_records import RememberedObject
from vis_ros.core.outputs.label_image import label_image
from vis_ros.core.outputs.overlay import draw_overlay

# Bags vis_ros writes: rosbag2 metadata version 9, which Jazzy's rosbag2 (0.26) and Kilted's read
# (docs/distros.md), with the message definitions of rosbags' Kilted store (the same as Jazzy's
# for every type written).
ROSBAG2_VERSION = 9

VIS_ROS_MESSAGES = ("Instance", "InstanceArray", "Instance3D", "Instance3DArray", "RememberedObject",
                    "RememberedObjectArray")
VISION_MESSAGES = ("Point2D", "Pose2D", "BoundingBox2D", "BoundingBox3D", "ObjectHypothesis",
                   "ObjectHypothesisWithPose", "Detection2D", "Detection2DArray", "Detection3D", "Detection3DArray",
                   "VisionClass", "LabelInfo")
SHIPPED = Path(__file__).resolve().parent / "interfaces"


def package_msg_dir(package: str) -> Path | None:
    """Find the installed package's msg folder (ament index); None where it is not installed."""
    try:
        from ament_index_python.packages import get_package_share_directory

        folder = Path(get_package_share_directory(package)) / "msg"
    except Exception:  # no ament index, or not installed
        return None
    return folder if folder.is_dir() else None


def vis_ros_msg_dir() -> Path:
    """Find vis_ros's .msg files where it is installed (colcon, pip) or in the source checkout."""
    return share_file("msg", "InstanceArray.msg").parent


def output_typestore():
    """Return rosbags' kilted type store with vis_ros's and vision_msgs's messages registered."""
    store = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for name in VIS_ROS_MESSAGES:
        types.update(get_types_from_msg((vis_ros_msg_dir() / f"{name}.msg").read_text(), f"vis_ros/msg/{name}"))
    vision = package_msg_dir("vision_msgs") or SHIPPED / "vision_msgs" / "msg"
    for name in VISION_MESSAGES:
        types.update(get_types_from_msg((vision / f"{name}.msg").read_text(), f"vision_msgs/msg/{name}"))
    store.register(types)
    return store


class OutputMessages:
    """Builders of the node's output messages as CDR bytes; see the module docstring."""

    def __init__(self, store=None):
        self.store = store or output_typestore()
        self.t = self.store.types

    def serialize(self, msg) -> bytes:
        """Return the CDR bytes of a message of this store."""
        return bytes(self.store.serialize_cdr(msg, msg.__msgtype__))

    # -- small pieces -------------------------------------------------------------
    def header(self, stamp_ns: int, frame_id: str):
        """Build a std_msgs/Header."""
        sec, nanosec = ns_to_sec_nanosec(stamp_ns)
        return self.t["std_msgs/msg/Header"](stamp=self.t["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec),
                                             frame_id=frame_id)

    def pose(self, position, orientation):
        """Build a geometry_msgs/Pose from (x, y, z) and a quaternion (x, y, z, w)."""
        t = self.t
        return t["geometry_msgs/msg/Pose"](
            position=t["geometry_msgs/msg/Point"](x=float(position[0]), y=float(position[1]), z=float(position[2])),
            orientation=t["geometry_msgs/msg/Quaternion"](x=float(orientation[0]), y=float(orientation[1]),
                                                          z=float(orientation[2]), w=float(orientation[3])))

    def vector(self, values):
        """Build a geometry_msgs/Vector3."""
        return self.t["geometry_msgs/msg/Vector3"](x=float(values[0]), y=float(values[1]), z=float(values[2]))

    # -- 2D -----------------------------------------------------------------------
    def image(self, stamp_ns: int, frame_id: str, pixels: np.ndarray, encoding: str) -> bytes:
        """Write a sensor_msgs/Image of a (H, W[, C]) array; step = bytes per row."""
        pixels = np.ascontiguousarray(pixels)
        msg = self.t["sensor_msgs/msg/Image"](header=self.header(stamp_ns, frame_id), height=pixels.shape[0],
                                              width=pixels.shape[1], encoding=encoding, is_bigendian=0,
                                              step=pixels.strides[0], data=pixels.view(np.uint8).reshape(-1))
        return self.serialize(msg)

    def labels(self, frame: InstanceFrame) -> bytes:
        """Write ~/labels: 16UC1, pixel = track id, 0 = background."""
        return self.image(frame.stamp_ns, frame.frame_id, label_image(frame.instances, frame.height, frame.width),
                          "16UC1")

    def overlay(self, frame: InstanceFrame, rgb: np.ndarray) -> bytes:
        """Write ~/overlay: the image with masks, ids and classes drawn."""
        picture = draw_overlay(rgb, [(i.box, i.mask) for i in frame.instances],
                               [f"{i.track_id} {i.class_name}" for i in frame.instances],
                               [i.track_id for i in frame.instances])
        return self.image(frame.stamp_ns, frame.frame_id, picture, "rgb8")

    def detections_2d(self, frame: InstanceFrame, class_id: str = "id") -> bytes:
        """Write ~/detections: the vision_msgs/Detection2DArray of a published frame.

        Per instance: `id` = track id, one hypothesis (class, score), the box
        centre and size in float pixels with edges on pixel boundaries (the box
        x..x+width covers pixels x to x+width-1, so its centre is x + width / 2).
        The hypothesis' class_id is the class index as a string, which
        ~/label_info maps to the name (vision_msgs' convention), or with
        `class_id` "name" the name itself.
        """
        t = self.t
        header = self.header(frame.stamp_ns, frame.frame_id)
        detections = []
        for instance in frame.instances:
            box = instance.box
            centre = t["vision_msgs/msg/Pose2D"](position=t["vision_msgs/msg/Point2D"](
                x=box.x + box.width / 2.0, y=box.y + box.height / 2.0), theta=0.0)
            detections.append(t["vision_msgs/msg/Detection2D"](
                header=header, results=[self._hypothesis(instance, self._identity_pose(), class_id)],
                bbox=t["vision_msgs/msg/BoundingBox2D"](center=centre, size_x=float(box.width),
                                                        size_y=float(box.height)),
                id=str(instance.track_id)))
        return self.serialize(t["vision_msgs/msg/Detection2DArray"](header=header, detections=detections))

    def label_info(self, stamp_ns: int, class_names: Sequence[str], threshold: float) -> bytes:
        """Write ~/label_info: class id -> name, and the score tracks start from."""
        t = self.t
        return self.serialize(t["vision_msgs/msg/LabelInfo"](
            header=self.header(stamp_ns, ""),
            class_map=[t["vision_msgs/msg/VisionClass"](class_id=i, class_name=name)
                       for i, name in enumerate(class_names)],
            threshold=float(threshold)))

    def _identity_pose(self):
        return self.pose((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0))

    def _hypothesis(self, instance, pose, class_id: str):
        t = self.t
        label = instance.class_name if class_id == "name" else str(instance.class_id)
        return t["vision_msgs/msg/ObjectHypothesisWithPose"](
            hypothesis=t["vision_msgs/msg/ObjectHypothesis"](class_id=label, score=float(instance.score)),
            pose=t["geometry_msgs/msg/PoseWithCovariance"](pose=pose, covariance=np.zeros(36)))

    # -- 3D -----------------------------------------------------------------------
    def instance_3d(self, instance: Instance3D):
        """Build the vis_ros/Instance3D of a 3D instance."""
        return self.t["vis_ros/msg/Instance3D"](
            id=instance.track_id, class_id=instance.class_id, class_name=instance.class_name,
            score=float(instance.score), pose=self.pose(instance.position, instance.orientation),
            size=self.vector(instance.size), velocity=self.vector(instance.velocity),
            num_points=instance.num_points, confidence=float(instance.confidence))

    def instances_3d(self, frame: Instance3DFrame) -> bytes:
        """Write ~/instances_3d: vis_ros/Instance3DArray."""
        return self.serialize(self.t["vis_ros/msg/Instance3DArray"](
            header=self.header(frame.stamp_ns, frame.frame_id),
            instances=[self.instance_3d(i) for i in frame.instances]))

    def remembered(self, stamp_ns: int, frame_id: str, objects: Sequence[RememberedObject]) -> bytes:
        """Write ~/remembered: vis_ros/RememberedObjectArray, the objects the memory keeps out of view."""
        t = self.t
        return self.serialize(t["vis_ros/msg/RememberedObjectArray"](
            header=self.header(stamp_ns, frame_id),
            objects=[t["vis_ros/msg/RememberedObject"](
                id=o.object_id, class_id=o.class_id, class_name=o.class_name,
                pose=self.pose(o.position, o.orientation), size=self.vector(o.size),
                position_sigma=float(o.sigma_m),
                last_seen=t["builtin_interfaces/msg/Time"](*ns_to_sec_nanosec(o.last_seen_ns))) for o in objects]))

    def detections_3d(self, frame: Instance3DFrame, class_id: str = "id") -> bytes:
        """Write ~/detections_3d: oriented boxes of measured instances; the hypothesis carries the same pose."""
        t = self.t
        header = self.header(frame.stamp_ns, frame.frame_id)
        detections = []
        for instance in frame.instances:
            if instance.confidence <= 0.0:
                continue
            pose = self.pose(instance.position, instance.orientation)
            detections.append(t["vision_msgs/msg/Detection3D"](
                header=header, results=[self._hypothesis(instance, pose, class_id)],
                bbox=t["vision_msgs/msg/BoundingBox3D"](center=pose, size=self.vector(instance.size)),
                id=str(instance.track_id)))
        return self.serialize(t["vision_msgs/msg/Detection3DArray"](header=header, detections=detections))

    def points(self, stamp_ns: int, frame_id: str, points_by_track: Mapping[int, np.ndarray]) -> bytes:
        """Write ~/points: an unorganised PointCloud2 of x, y, z float32 and instance_id uint32."""
        t = self.t
        dtype = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("instance_id", "<u4")])
        total = sum(len(p) for p in points_by_track.values())
        data = np.empty(total, dtype)
        offset = 0
        for track_id, pts in points_by_track.items():
            n = len(pts)
            data["x"][offset:offset + n], data["y"][offset:offset + n], data["z"][offset:offset + n] = pts.T
            data["instance_id"][offset:offset + n] = track_id % 2**32
            offset += n
        field = t["sensor_msgs/msg/PointField"]
        fields = [field(name=n, offset=o, datatype=d, count=1) for n, o, d in
                  (("x", 0, field.FLOAT32), ("y", 4, field.FLOAT32), ("z", 8, field.FLOAT32),
                   ("instance_id", 12, field.UINT32))]
        return self.serialize(t["sensor_msgs/msg/PointCloud2"](
            header=self.header(stamp_ns, frame_id), height=1, width=total, fields=fields, is_bigendian=False,
            point_step=16, row_step=16 * total, data=data.view(np.uint8).reshape(-1), is_dense=True))

    def marker(self, header, ns: str, marker_id: int, kind: int, action: int, pose=None, scale=(0.0, 0.0, 0.0),
               colour=(0.0, 0.0, 0.0, 0.0), text: str = ""):
        """Build a visualization_msgs/Marker (the fields rviz reads; the rest empty)."""
        t = self.t
        empty_image = t["sensor_msgs/msg/CompressedImage"](header=self.header(0, ""), format="",
                                                          data=np.zeros(0, np.uint8))
        return t["visualization_msgs/msg/Marker"](
            header=header, ns=ns, id=marker_id, type=kind, action=action,
            pose=pose or self._identity_pose(), scale=self.vector(scale),
            color=t["std_msgs/msg/ColorRGBA"](r=colour[0], g=colour[1], b=colour[2], a=colour[3]),
            lifetime=t["builtin_interfaces/msg/Duration"](sec=0, nanosec=0), frame_locked=False, points=[],
            colors=[], texture_resource="", texture=empty_image, uv_coordinates=[], text=text, mesh_resource="",
            mesh_file=t["visualization_msgs/msg/MeshFile"](filename="", data=np.zeros(0, np.uint8)),
            mesh_use_embedded_materials=False)
