"""One camera's MoveIt collision objects, beside its 3D messages.

Fusion is the runner's (vis_ros.core.fusion.stage), in target_frame where one
is set (the 3D stage waits for the transform: ros/transforms.py), and the
messages are the catalogue's (io/frame_messages.py, published by
ros/outputs.py); this keeps the planning scene in step with the fused
frames. Created with the node's other outputs at configure, through its
Entities, which destroy them at cleanup.
"""
from __future__ import annotations

from vis_ros.core.config.output_selection import OutputPlan
from vis_ros.core.config.settings import DepthSettings
from vis_ros.core.pipeline.results import Published3D
from vis_ros.ros.entities import Entities


class ThreeDOutputs:
    """One camera's collision objects while configured; see the module docstring."""

    def __init__(self, entities: Entities, settings: DepthSettings, plan: OutputPlan, packages: dict):
        self.collisions = None
        if plan.collision_objects:
            from vis_ros.ros.collision_objects import CollisionObjectOutput

            self.collisions = CollisionObjectOutput(entities, packages["moveit_msgs"], settings)

    def reconfigure(self, settings: DepthSettings) -> None:
        """Take the run-time changeable settings (the collision objects')."""
        if self.collisions is not None:
            self.collisions.reconfigure(settings)

    def withdraw(self) -> None:
        """REMOVE the collision objects this node placed (deactivate)."""
        if self.collisions is not None:
            self.collisions.withdraw()

    def place_collision_objects(self, result: Published3D) -> None:
        """Bring MoveIt's planning scene to this fused frame (in target_frame)."""
        if self.collisions is not None:
            self.collisions.publish(result.fused.frame, result.frame)
