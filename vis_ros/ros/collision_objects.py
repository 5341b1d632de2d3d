"""Confirmed 3D tracks in MoveIt's planning scene, as moveit_msgs/CollisionObject boxes.

The decisions (ADD, MOVE, REMOVE, rate limit, classes) are the core's
CollisionScene; this owns the publisher and writes the messages. Objects are
boxes in the 3D output's frame, which must be a target_frame (a world-fixed
frame): in a moving camera frame a collision object is wrong as soon as the
camera moves, so the node refuses to start this output without one. Reliable
QoS with a deep history: a lost REMOVE would leave a ghost in the scene.
When a new subscriber (a planning scene monitor started late) appears, every
object is sent again as an ADD. At deactivate everything is removed.
"""
from __future__ import annotations

from types import ModuleType

from geometry_msgs.msg import Pose
from rclpy.duration import Duration
from rclpy.qos import QoSProfile, ReliabilityPolicy
from shape_msgs.msg import SolidPrimitive

from vis_ros.core.config.settings import DepthSettings
from vis_ros.core.data.instances import Instance3DFrame, InstanceFrame
from vis_ros.core.outputs.collision_scene import (
    CollisionOperation,
    CollisionScene,
    CollisionSceneConfig,
    CollisionUpdate,
)
from vis_ros.ros.convert import box_pose, header_msg
from vis_ros.ros.entities import Entities

MIN_BOX_SIZE_M = 0.001  # MoveIt refuses boxes with a zero dimension; a flat fused box gets this
WITHDRAW_TIMEOUT_S = 2.0  # how long stopping waits for the planning scene to acknowledge the REMOVEs


def scene_config(settings: DepthSettings) -> CollisionSceneConfig:
    """Return the CollisionScene settings from the node's depth settings."""
    return CollisionSceneConfig(move_rate_hz=settings.collision_object_rate,
                                classes=settings.collision_object_classes)


def collision_object_msg(moveit: ModuleType, update: CollisionUpdate):
    """Build the CollisionObject of one update; MOVE carries the pose only, as MoveIt asks."""
    msg = moveit.CollisionObject(header=header_msg(update.stamp_ns, update.frame_id), id=update.object_id,
                             operation=bytes([update.operation]))
    instance = update.instance
    if instance is not None:
        msg.pose = box_pose(instance)
        if update.operation == CollisionOperation.ADD:
            msg.primitives = [SolidPrimitive(type=SolidPrimitive.BOX,
                                             dimensions=[max(MIN_BOX_SIZE_M, float(s)) for s in instance.size])]
            msg.primitive_poses = [Pose()]  # the box is centred on the object's pose
    return msg


class CollisionObjectOutput:
    """The collision-object publisher and the scene it keeps; see the module docstring."""

    def __init__(self, entities: Entities, moveit: ModuleType, settings: DepthSettings):
        self.node, self._moveit = entities.node, moveit
        self.scene = CollisionScene(self.node.get_name(), scene_config(settings))
        qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self.publisher = entities.publisher(moveit.CollisionObject, settings.collision_object_topic, qos)
        self._subscribers = 0

    def reconfigure(self, settings: DepthSettings) -> None:
        """Take a new rate or class list; the next frame applies it."""
        self.scene.config = scene_config(settings)

    def publish(self, frame3d: Instance3DFrame, frame2d: InstanceFrame) -> None:
        """Bring the planning scene to this frame (both already in the target frame / published)."""
        updates = self.scene.update(frame3d, {i.track_id: i.state for i in frame2d.instances})
        subscribers = self.publisher.get_subscription_count()
        if subscribers > self._subscribers:  # a late planning scene: tell it everything
            updates = [u for u in updates if u.operation == CollisionOperation.REMOVE] + self.scene.resend()
        self._subscribers = subscribers
        self._send(updates)

    def withdraw(self) -> None:
        """REMOVE every object this node placed, and wait until the planning scene has them.

        On every way the node stops (deactivate, cleanup, shutdown, Ctrl-C,
        SIGTERM: vis_ros_node handles the signals itself, so the context is
        still up here), before the publisher goes: a stopped node leaves no
        ghosts for the arm to plan around. What cannot be delivered is named.
        """
        updates = self.scene.clear()
        if not updates:
            return
        ids = ", ".join(u.object_id for u in updates)
        if not self.node.context.ok() or not self.publisher.is_activated:
            self.node.get_logger().warning(f"{len(updates)} collision objects left in the planning scene ({ids}):"
                                           " the node could no longer publish their REMOVE")
            return
        self._send(updates)
        if self.publisher.get_subscription_count() and not self.publisher.wait_for_all_acked(
                Duration(seconds=WITHDRAW_TIMEOUT_S)):
            self.node.get_logger().warning(f"the REMOVE of {len(updates)} collision objects ({ids}) was not"
                                           f" acknowledged by every subscriber within {WITHDRAW_TIMEOUT_S} s: they"
                                           " may be left in a planning scene")

    def _send(self, updates: list[CollisionUpdate]) -> None:
        if not self.publisher.is_activated:
            return
        for update in updates:
            self.publisher.publish(collision_object_msg(self._moveit, update))
