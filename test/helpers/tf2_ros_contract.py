"""A stand-in for tf2_ros where it cannot be installed (here), holding its contract.

What the node relies on, from tf2_ros (rolling/kilted):
- `TransformListener(buffer, node)` subscribes the node to /tf and /tf_static
  (two subscriptions, created in the constructor);
- `TransformListener.unregister()` destroys both subscriptions;
- `Buffer.lookup_transform(target, source, time, timeout=...)` returns a
  TransformStamped or raises (LookupException and friends) when it has none.
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
    def lookup_transform(self, target_frame, source_frame, time, timeout=None):
        raise LookupException(f'"{target_frame}" passed to lookupTransform argument target_frame'
                              " does not exist.")


class TransformListener:
    def __init__(self, buffer: Buffer, node, *, spin_thread: bool = False, qos=None, static_qos=None):
        self.buffer, self.node = buffer, node
        static = QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.tf_sub = node.create_subscription(TransformStamped, "/tf", self._ignore, qos or 100)
        self.tf_static_sub = node.create_subscription(TransformStamped, "/tf_static", self._ignore,
                                                      static_qos or static)

    def _ignore(self, msg) -> None:
        pass

    def unregister(self) -> None:
        self.node.destroy_subscription(self.tf_sub)
        self.node.destroy_subscription(self.tf_static_sub)


def module() -> types.ModuleType:
    fake = types.ModuleType("tf2_ros")
    fake.Buffer, fake.TransformListener, fake.LookupException = Buffer, TransformListener, LookupException
    return fake
