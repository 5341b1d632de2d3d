"""The node's 3D branch: depth + CameraInfo -> Instance3DArray, markers, points, TF.

Created with the node's other outputs at configure and destroyed with them at
cleanup: its three publishers and, with a target_frame, the tf2 listener
(whose /tf and /tf_static subscriptions are unregistered at destroy).
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


class ThreeDOutputs:
    """The node's 3D outputs while configured with use_depth; see the module docstring."""

    def __init__(self, node, settings: DepthSettings):
        self.node = node
        self.fuser = DepthFuser()
        self.markers = MarkerTracker()
        self.say_once = WarnOnce(node.get_logger())
        qos = QoSProfile(depth=5)
        self.instances_3d = node.create_lifecycle_publisher(Instance3DArray, "~/instances_3d", qos)
        self.marker_array = node.create_lifecycle_publisher(MarkerArray, "~/markers", qos)
        self.points = node.create_lifecycle_publisher(PointCloud2, "~/points", qos)
        self.target_frame = settings.target_frame
        self.tf_buffer = self._tf_listener = None
        if self.target_frame:
            try:
                import tf2_ros
            except ImportError:
                self.say_once("target_frame is set but tf2_ros is not importable: 3D outputs stay"
                              " in the camera frame")
                self.target_frame = ""
            else:
                self.tf_buffer = tf2_ros.Buffer()
                self._tf_listener = tf2_ros.TransformListener(self.tf_buffer, node)

    def destroy(self) -> None:
        """Unregister the TF listener and destroy the three publishers (cleanup)."""
        if self._tf_listener is not None:
            self._tf_listener.unregister()  # destroys its /tf and /tf_static subscriptions
            self._tf_listener = self.tf_buffer = None
        for publisher in (self.instances_3d, self.marker_array, self.points):
            self.node.destroy_lifecycle_publisher(publisher)

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
