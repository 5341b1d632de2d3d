"""A stand-in for tf2_ros where it cannot be installed (here), holding its contract.

What the node (and the tests) rely on, from tf2_ros (rolling/kilted):
- `TransformListener(buffer, node)` subscribes the node to /tf and /tf_static
  (two subscriptions, created in the constructor) and feeds what arrives to
  the buffer; `TransformListener.unregister()` destroys both subscriptions;
- `Buffer.lookup_transform(target, source, time, timeout=...)` returns the
  TransformStamped that maps `source` coordinates into `target` (header
  frame_id = target, child_frame_id = source); the identity when the two are
  the same frame; raises LookupException when it has none. Static transforms
  hold at every time, which is all the stand-in keeps;
- `StaticTransformBroadcaster(node).sendTransform(transform)` latches it on
  /tf_static (transient local).
The real listener subscribes with tf2_msgs/TFMessage, which is not installable
here either; these subscriptions use geometry_msgs/TransformStamped on the same
topics so that they are real rclpy entities, counted like the real ones.
Where tf2_ros is importable (robots), tests use the real package instead.
"""
from __future__ import annotations

import types

from geometry_msgs.msg import TransformStamped
from rclpy.qos import DurabilityPolicy, QoSProfile


class LookupException(Exception):  # noqa: N818 (tf2_ros names it so)
    pass


class Buffer:
    def __init__(self):
        self._static: dict[tuple[str, str], TransformStamped] = {}

    def set_transform_static(self, transform: TransformStamped, authority: str) -> None:
        self._static[(transform.header.frame_id, transform.child_frame_id)] = transform

    def lookup_transform(self, target_frame, source_frame, time, timeout=None):
        if target_frame == source_frame:
            identity = TransformStamped()
            identity.header.frame_id = identity.child_frame_id = target_frame
            return identity
        found = self._static.get((target_frame, source_frame))
        if found is None:
            raise LookupException(f'"{target_frame}" passed to lookupTransform argument target_frame'
                                  " does not exist.")
        return found


def _static_qos() -> QoSProfile:
    return QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class TransformListener:
    def __init__(self, buffer: Buffer, node, *, spin_thread: bool = False, qos=None, static_qos=None):
        self.buffer, self.node = buffer, node
        self.tf_sub = node.create_subscription(TransformStamped, "/tf", self._ignore, qos or 100)
        self.tf_static_sub = node.create_subscription(TransformStamped, "/tf_static", self._static,
                                                      static_qos or _static_qos())

    def _ignore(self, msg) -> None:
        pass

    def _static(self, msg: TransformStamped) -> None:
        self.buffer.set_transform_static(msg, "default_authority")

    def unregister(self) -> None:
        self.node.destroy_subscription(self.tf_sub)
        self.node.destroy_subscription(self.tf_static_sub)


class StaticTransformBroadcaster:
    def __init__(self, node, qos=None):
        self.publisher = node.create_publisher(TransformStamped, "/tf_static", qos or _static_qos())

    def sendTransform(self, transform: TransformStamped) -> None:  # noqa: N802 (tf2_ros names it so)
        self.publisher.publish(transform)


def module() -> types.ModuleType:
    fake = types.ModuleType("tf2_ros")
    fake.Buffer, fake.TransformListener, fake.LookupException = Buffer, TransformListener, LookupException
    fake.StaticTransformBroadcaster = StaticTransformBroadcaster
    return fake
