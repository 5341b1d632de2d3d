"""One camera's 3D branch: depth + CameraInfo -> Instance3DArray, markers, points, TF.

Created with the node's other outputs at configure and destroyed with them at
cleanup: its publishers (~/<prefix>instances_3d, markers, points; where
vision_msgs is importable ~/<prefix>detections_3d; with a target_frame and
moveit_msgs the collision objects). The TF listener is the node's (one for
every camera, NodeOutputs owns it); without one, 3D stays in the camera frame.
"""
from __future__ import annotations

from rclpy.duration import Duration
from rclpy.qos import QoSProfile
from rclpy.time import Time
from sensor_msgs.msg import PointCloud2
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from vis_ros.core.engine.errors import InputError
from vis_ros.core.fusion.camera import PinholeCamera
from vis_ros.core.fusion.fuser import DepthFuser
from vis_ros.core.fusion.transform import transform_frame3d, transform_points
from vis_ros.core.settings import DepthSettings
from vis_ros.core.warn_once import WarnOnce
from vis_ros.msg import Instance3DArray
from vis_ros.ros.convert import frame3d_to_msg, ns_to_stamp
from vis_ros.ros.image_msgs import depth_from_msg
from vis_ros.ros.markers import MarkerTracker, points_cloud
from vis_ros.ros.outputs import message_module
from vis_ros.ros.vision_detections import detections_3d_msg


class ThreeDOutputs:
    """The node's 3D outputs while configured with use_depth; see the module docstring."""

    def __init__(self, node, settings: DepthSettings, vision_msgs=None, off: list[str] | None = None,
                 prefix: str = "", tf_buffer=None):
        self.node = node
        self.fuser = DepthFuser()
        self.markers = MarkerTracker()
        self.say_once = WarnOnce(node.get_logger())
        self._vm, self.detections_3d, self.collisions = vision_msgs, None, None
        self.instances_3d = self.marker_array = self.points = None
        self.tf_buffer = tf_buffer
        self.target_frame = settings.target_frame if tf_buffer is not None else ""
        try:
            self._create(settings, off if off is not None else [], prefix)
        except Exception:
            self.destroy()
            raise

    def _create(self, settings: DepthSettings, off: list[str], prefix: str) -> None:
        qos = QoSProfile(depth=5)
        self.instances_3d = self.node.create_lifecycle_publisher(Instance3DArray, f"~/{prefix}instances_3d", qos)
        self.marker_array = self.node.create_lifecycle_publisher(MarkerArray, f"~/{prefix}markers", qos)
        self.points = self.node.create_lifecycle_publisher(PointCloud2, f"~/{prefix}points", qos)
        if self._vm is not None and settings.publish_detections_3d:
            self.detections_3d = self.node.create_lifecycle_publisher(self._vm.Detection3DArray,
                                                                      f"~/{prefix}detections_3d", qos)
        if settings.publish_collision_objects:
            self._collision_objects(settings, off)

    def _collision_objects(self, settings: DepthSettings, off: list[str]) -> None:
        """Start the collision-object output, or say in `off` why it cannot run."""
        if not self.target_frame:
            why = ("no TF (tf2_ros is not importable)" if settings.target_frame else "no target_frame set") + \
                  ": collision objects in the moving camera frame would be wrong; set target_frame to a" \
                  " world-fixed frame (map, odom, world) or publish_collision_objects:=false"
            off.append(f"collision objects on {settings.collision_object_topic}: {why}")
            return
        moveit_msgs, why_not = message_module("moveit_msgs")
        if moveit_msgs is None:
            off.append(f"collision objects on {settings.collision_object_topic}: {why_not}")
            return
        from vis_ros.ros.collision_objects import CollisionObjectOutput

        self.collisions = CollisionObjectOutput(self.node, moveit_msgs, settings)

    def destroy(self) -> None:
        """Destroy the publishers (cleanup)."""
        for publisher in (self.instances_3d, self.marker_array, self.points, self.detections_3d):
            if publisher is not None:
                self.node.destroy_lifecycle_publisher(publisher)
        if self.collisions is not None:
            self.collisions.destroy()
            self.collisions = None

    def reconfigure(self, settings: DepthSettings) -> None:
        """Take the run-time changeable settings of the collision objects."""
        if self.collisions is not None:
            self.collisions.reconfigure(settings)

    def withdraw(self) -> None:
        """REMOVE the collision objects this node placed (deactivate)."""
        if self.collisions is not None:
            self.collisions.withdraw()

    def publish(self, frame, depth_msg, info_msg, settings: DepthSettings) -> None:
        """Fuse one frame with its depth and publish instances, markers and points."""
        depth = depth_from_msg(depth_msg, settings.depth_scale)
        if not depth.any():  # invalid pixels are 0 after conversion (0, NaN, inf, negative)
            raise InputError(f"depth image {depth_msg.width}x{depth_msg.height} ({depth_msg.encoding}) has no"
                             " valid pixel (all zero or NaN): 3D skipped, 2D still published")
        camera, warnings = PinholeCamera.from_camera_info(info_msg.k, info_msg.width, info_msg.height,
                                                          info_msg.distortion_model, info_msg.d)
        frame3d, estimates, notices = self.fuser(frame, depth, camera)
        for text in warnings + notices:
            self.say_once(text)
        points = {tid: e.points for tid, e in estimates.items() if e.confidence > 0}
        if self.target_frame:
            transform = self._lookup(frame.frame_id, frame.stamp_ns, settings.tf_timeout)
            if transform is None:
                return
            rotation, translation = transform
            frame3d = transform_frame3d(frame3d, rotation, translation, self.target_frame)
            points = {tid: transform_points(p, rotation, translation) for tid, p in points.items()}
        header = Header(stamp=ns_to_stamp(frame.stamp_ns), frame_id=frame3d.frame_id)
        self.instances_3d.publish(frame3d_to_msg(frame3d))
        if self.detections_3d is not None and self.detections_3d.get_subscription_count() > 0:
            self.detections_3d.publish(detections_3d_msg(self._vm, frame3d))
        if self.collisions is not None:
            self.collisions.publish(frame3d, frame)
        if settings.publish_markers:
            self.marker_array.publish(self.markers.build(header, frame3d))
        if settings.publish_points:
            self.points.publish(points_cloud(header, points))

    def _lookup(self, source: str, stamp_ns: int, timeout_s: float):
        """Transform at the image stamp (not 'latest'), or None with a throttled warning."""
        try:
            t = self.tf_buffer.lookup_transform(self.target_frame, source, Time(nanoseconds=stamp_ns),
                                                timeout=Duration(seconds=timeout_s)).transform
        except Exception as exc:  # tf2 raises several lookup/extrapolation types
            self.node.get_logger().warning(f"no transform {source} -> {self.target_frame} at the image"
                                        f" stamp: {exc}; 3D outputs skipped", throttle_duration_sec=2.0)
            return None
        q, p = t.rotation, t.translation
        return (q.x, q.y, q.z, q.w), (p.x, p.y, p.z)
