"""One camera's 3D publishers: Instance3DArray, markers, points, detections_3d, collision objects.

Fusion is the runner's (vis_ros.core.fusion.stage); this publishes its
result, as the bytes vis_ros.io.output_messages writes (process-bag writes
the same), after a TF lookup at the image stamp where a target_frame is
set. Created with the node's other outputs at configure, through its
Entities, which destroy them at cleanup. The TF listener is the node's (one for every camera,
NodeOutputs owns it); without one, 3D stays in the camera frame.
"""
from __future__ import annotations

from rclpy.duration import Duration
from rclpy.qos import QoSProfile
from rclpy.time import Time
from sensor_msgs.msg import PointCloud2
from visualization_msgs.msg import MarkerArray

from vis_ros.core.config.settings import DepthSettings, NodeSettings
from vis_ros.core.fusion.transform import transform_frame3d, transform_points
from vis_ros.core.outputs.selection import OutputPlan
from vis_ros.core.pipeline.results import Published3D
from vis_ros.core.pipeline.three_d import NO_TRANSFORM, Without3DError
from vis_ros.io.output_messages import MarkerState, OutputMessages
from vis_ros.msg import Instance3DArray
from vis_ros.ros.entities import Entities


class ThreeDOutputs:
    """One camera's 3D publishers while configured with use_depth; see the module docstring."""

    def __init__(self, entities: Entities, settings: DepthSettings, plan: OutputPlan, packages: dict, prefix: str,
                 tf_buffer, messages: OutputMessages):
        self.messages = messages
        self.markers = MarkerState(messages)
        self.detections_3d = self.collisions = None
        self.tf_buffer = tf_buffer
        self.target_frame = settings.target_frame if tf_buffer is not None else ""
        qos = QoSProfile(depth=5)
        self.instances_3d = entities.publisher(Instance3DArray, f"~/{prefix}instances_3d", qos)
        self.marker_array = entities.publisher(MarkerArray, f"~/{prefix}markers", qos)
        self.points = entities.publisher(PointCloud2, f"~/{prefix}points", qos)
        if plan.detections_3d:
            self.detections_3d = entities.publisher(packages["vision_msgs"].Detection3DArray,
                                                    f"~/{prefix}detections_3d", qos)
        if plan.collision_objects:
            from vis_ros.ros.collision_objects import CollisionObjectOutput

            self.collisions = CollisionObjectOutput(entities, packages["moveit_msgs"], settings)

    def reconfigure(self, settings: DepthSettings) -> None:
        """Take the run-time changeable settings of the collision objects."""
        if self.collisions is not None:
            self.collisions.reconfigure(settings)

    def withdraw(self) -> None:
        """REMOVE the collision objects this node placed (deactivate)."""
        if self.collisions is not None:
            self.collisions.withdraw()

    def publish(self, result: Published3D, node_settings: NodeSettings) -> None:
        """Publish one fused frame: instances, markers, points (and detections_3d, collision objects)."""
        frame, frame3d, points = result.frame, result.fused.frame, result.fused.points
        settings = node_settings.depth
        if self.target_frame:
            rotation, translation = self._lookup(frame.frame_id, frame.stamp_ns, settings.tf_timeout)
            frame3d = transform_frame3d(frame3d, rotation, translation, self.target_frame)
            points = {tid: transform_points(p, rotation, translation) for tid, p in points.items()}
        self.instances_3d.publish(self.messages.instances_3d(frame3d))
        if self.detections_3d is not None and self.detections_3d.get_subscription_count() > 0:
            self.detections_3d.publish(self.messages.detections_3d(frame3d, node_settings.outputs.detection_class_id))
        if self.collisions is not None:
            self.collisions.publish(frame3d, frame)
        if settings.publish_markers:
            self.marker_array.publish(self.markers.markers(frame3d))
        if settings.publish_points:
            self.points.publish(self.messages.points(frame.stamp_ns, frame3d.frame_id, points))

    def _lookup(self, source: str, stamp_ns: int, timeout_s: float):
        """Return the transform at the image stamp (not 'latest'); Without3DError when there is none."""
        try:
            t = self.tf_buffer.lookup_transform(self.target_frame, source, Time(nanoseconds=stamp_ns),
                                                timeout=Duration(seconds=timeout_s)).transform
        except Exception as exc:  # tf2 raises several lookup/extrapolation types
            raise Without3DError(NO_TRANSFORM, f"no transform {source} -> {self.target_frame} at the image stamp:"
                                          f" {exc}") from None
        q, p = t.rotation, t.translation
        return (q.x, q.y, q.z, q.w), (p.x, p.y, p.z)
