"""One camera's 3D beyond its messages: the transform to target_frame and MoveIt's collision objects.

Fusion is the runner's (vis_ros.core.fusion.stage) and the messages are the
catalogue's (io/frame_messages.py, published by ros/outputs.py); this puts a
fused frame into target_frame, after a TF lookup at the image stamp, where
one is set, and keeps the planning scene in step. Created with the node's
other outputs at configure, through its Entities, which destroy them at
cleanup. The TF listener is the node's (one for every camera, NodeOutputs
owns it); without one, 3D stays in the camera frame.
"""
from __future__ import annotations

from dataclasses import replace

from rclpy.duration import Duration
from rclpy.time import Time

from vis_ros.core.config.output_selection import OutputPlan
from vis_ros.core.config.settings import DepthSettings
from vis_ros.core.fusion.transform import transform_frame3d, transform_points
from vis_ros.core.pipeline.results import Published3D
from vis_ros.core.pipeline.three_d import NO_TRANSFORM, Without3DError
from vis_ros.ros.entities import Entities


class ThreeDOutputs:
    """One camera's transform to target_frame and collision objects while configured; see the module docstring."""

    def __init__(self, entities: Entities, settings: DepthSettings, plan: OutputPlan, packages: dict, tf_buffer):
        self.settings, self.tf_buffer = settings, tf_buffer
        self.target_frame = settings.target_frame if tf_buffer is not None else ""
        self.collisions = None
        if plan.collision_objects:
            from vis_ros.ros.collision_objects import CollisionObjectOutput

            self.collisions = CollisionObjectOutput(entities, packages["moveit_msgs"], settings)

    def reconfigure(self, settings: DepthSettings) -> None:
        """Take the run-time changeable settings (TF wait, the collision objects')."""
        self.settings = settings
        if self.collisions is not None:
            self.collisions.reconfigure(settings)

    def withdraw(self) -> None:
        """REMOVE the collision objects this node placed (deactivate)."""
        if self.collisions is not None:
            self.collisions.withdraw()

    def in_target_frame(self, result: Published3D) -> Published3D:
        """Return the fused frame in target_frame (as it is without one); Without3DError when there is no transform."""
        if not self.target_frame:
            return result
        frame, fused = result.frame, result.fused
        rotation, translation = self._lookup(frame.frame_id, frame.stamp_ns, self.settings.tf_timeout)
        frame3d = transform_frame3d(fused.frame, rotation, translation, self.target_frame)
        points = {tid: transform_points(p, rotation, translation) for tid, p in fused.points.items()}
        return replace(result, fused=replace(fused, frame=frame3d, points=points))

    def place_collision_objects(self, result: Published3D) -> None:
        """Bring MoveIt's planning scene to this fused frame (already in target_frame)."""
        if self.collisions is not None:
            self.collisions.publish(result.fused.frame, result.frame)

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
