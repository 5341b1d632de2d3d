"""A stand-in for tf2_ros where it cannot be installed (here), holding its contract.

What the node (and the tests) rely on, from tf2_ros (rolling/kilted):
- `TransformListener(buffer, node)` subscribes the node to /tf and /tf_static
  (two subscriptions, created in the constructor) and feeds what arrives to
  the buffer; `TransformListener.unregister()` destroys both subscriptions;
- `Buffer.lookup_transform(target, source, time)` (no timeout: it never
  waits) returns the TransformStamped that maps `source` coordinates into
  `target` (header frame_id = target, child_frame_id = source) at `time`,
  interpolated between the stamps around it; the identity when the two are
  the same frame. Static transforms hold at every time. It raises
  LookupException for a frame it has not heard of, ConnectivityException for
  frames in trees not joined, ExtrapolationException for a time after the
  newest transform ("... extrapolation into the future ...") or before the
  oldest ("... into the past ...");
- `Buffer.set_transform(transform, authority)` / `set_transform_static(...)`;
- `TransformBroadcaster(node).sendTransform(transform)` publishes on /tf;
  `StaticTransformBroadcaster(node).sendTransform(transform)` latches it on
  /tf_static (transient local).
The real listener subscribes with tf2_msgs/TFMessage, which is not installable
here either; these subscriptions use geometry_msgs/TransformStamped on the same
topics so that they are real rclpy entities, counted like the real ones. The
tree over time is the project's own (vis_ros.core.streaming.transforms), which
test_stand_in_conformance.py holds to the real tf2 where it is importable.
Where tf2_ros is importable (robots), tests use the real package instead.
"""
from __future__ import annotations

import types

from geometry_msgs.msg import TransformStamped
from rclpy.qos import DurabilityPolicy, QoSProfile


class LookupException(Exception):  # noqa: N818 (tf2_ros names it so)
    pass


class ConnectivityException(Exception):  # noqa: N818 (tf2_ros names it so)
    pass


class ExtrapolationException(Exception):  # noqa: N818 (tf2_ros names it so)
    pass


class Buffer:
    def __init__(self, cache_time=None, node=None):
        from vis_ros.core.streaming.transforms import TransformBuffer

        self._tree = TransformBuffer("")
        self._frames: set[str] = set()

    def set_transform(self, transform: TransformStamped, authority: str) -> None:
        self._add(transform, static=False)

    def set_transform_static(self, transform: TransformStamped, authority: str) -> None:
        self._add(transform, static=True)

    def _add(self, transform: TransformStamped, static: bool) -> None:
        from vis_ros.core.fusion.transform import Rigid

        q, p = transform.transform.rotation, transform.transform.translation
        stamp = transform.header.stamp.sec * 10**9 + transform.header.stamp.nanosec
        self._tree.add(transform.header.frame_id, transform.child_frame_id, stamp,
                       Rigid((q.x, q.y, q.z, q.w), (p.x, p.y, p.z)), static=static)
        self._frames |= {transform.header.frame_id, transform.child_frame_id}

    def lookup_transform(self, target_frame, source_frame, time, timeout=None):
        stamp = time.nanoseconds
        if target_frame != source_frame:
            for argument, frame in (("target_frame", target_frame), ("source_frame", source_frame)):
                if frame not in self._frames:
                    raise LookupException(f'"{frame}" passed to lookupTransform argument {argument} does not'
                                          " exist. ")
        found = self._tree.between(target_frame, source_frame, stamp)
        if found.transform is None:
            if found.reason.startswith("no transform"):
                raise ConnectivityException(f"Could not find a connection between '{target_frame}' and"
                                            f" '{source_frame}' because they are not part of the same tree.")
            when = "future" if found.may_still_come else "past"
            raise ExtrapolationException(f"Lookup would require extrapolation into the {when}.  Requested time"
                                         f" {stamp * 1e-9:.9f}: {found.reason}")
        result = TransformStamped()
        result.header.frame_id, result.child_frame_id = target_frame, source_frame
        result.header.stamp.sec, result.header.stamp.nanosec = divmod(stamp, 10**9)
        (result.transform.rotation.x, result.transform.rotation.y, result.transform.rotation.z,
         result.transform.rotation.w) = found.transform.rotation
        (result.transform.translation.x, result.transform.translation.y,
         result.transform.translation.z) = found.transform.translation
        return result


def _static_qos() -> QoSProfile:
    return QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class TransformListener:
    def __init__(self, buffer: Buffer, node, *, spin_thread: bool = False, qos=None, static_qos=None):
        self.buffer, self.node = buffer, node
        self.tf_sub = node.create_subscription(TransformStamped, "/tf", self._dynamic, qos or 100)
        self.tf_static_sub = node.create_subscription(TransformStamped, "/tf_static", self._static,
                                                      static_qos or _static_qos())

    def _dynamic(self, msg: TransformStamped) -> None:
        self.buffer.set_transform(msg, "default_authority")

    def _static(self, msg: TransformStamped) -> None:
        self.buffer.set_transform_static(msg, "default_authority")

    def unregister(self) -> None:
        self.node.destroy_subscription(self.tf_sub)
        self.node.destroy_subscription(self.tf_static_sub)


class TransformBroadcaster:
    def __init__(self, node, qos=None):
        self.publisher = node.create_publisher(TransformStamped, "/tf", qos or 100)

    def sendTransform(self, transform: TransformStamped) -> None:  # noqa: N802 (tf2_ros names it so)
        self.publisher.publish(transform)


class StaticTransformBroadcaster:
    def __init__(self, node, qos=None):
        self.publisher = node.create_publisher(TransformStamped, "/tf_static", qos or _static_qos())

    def sendTransform(self, transform: TransformStamped) -> None:  # noqa: N802 (tf2_ros names it so)
        self.publisher.publish(transform)


def module() -> types.ModuleType:
    fake = types.ModuleType("tf2_ros")
    fake.Buffer, fake.TransformListener, fake.LookupException = Buffer, TransformListener, LookupException
    fake.ConnectivityException, fake.ExtrapolationException = ConnectivityException, ExtrapolationException
    fake.TransformBroadcaster, fake.StaticTransformBroadcaster = TransformBroadcaster, StaticTransformBroadcaster
    return fake
