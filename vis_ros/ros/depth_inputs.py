"""Aligned depth + CameraInfo, paired by approximate time, looked up per image.

The colour image never waits for depth: 2D results are published for every
image. Depth and CameraInfo are paired with message_filters'
ApproximateTimeSynchronizer when it is importable (robots), else with
vis_ros.core.approx_sync (same contract, tested here). Each image then takes
the pair closest to its stamp within `slop`; when there is none the caller
says which input is missing. Made at activate, destroyed at deactivate.
"""
from __future__ import annotations

import collections
import threading

from sensor_msgs.msg import CameraInfo, Image

from vis_ros.core.approx_sync import ApproxTimeSync
from vis_ros.core.stamps import stamp_to_ns


class DepthInputs:
    """The depth and camera_info subscriptions and the pairs they make; see the module docstring."""

    def __init__(self, node, qos, slop_s: float, queue_size: int, prefix: str = ""):
        self.node = node
        self.depth_topic, self.info_topic = f"{prefix}depth", f"{prefix}camera_info"
        self._pairs: collections.deque = collections.deque(maxlen=queue_size)
        self._lock = threading.Lock()
        self.slop_ns = int(slop_s * 1e9)
        self.last_depth_ns: int | None = None
        self.last_info_ns: int | None = None
        self.subscriptions = []
        try:
            import message_filters

            depth = message_filters.Subscriber(node, Image, self.depth_topic, qos_profile=qos)
            info = message_filters.Subscriber(node, CameraInfo, self.info_topic, qos_profile=qos)
            depth.registerCallback(self._seen_depth)
            info.registerCallback(self._seen_info)
            self._sync = message_filters.ApproximateTimeSynchronizer([depth, info], queue_size, slop_s)
            self._sync.registerCallback(self._paired)
            self.backend = "message_filters"
            self.subscriptions = [depth.sub, info.sub]
        except ImportError:
            self._sync = ApproxTimeSync(2, queue_size, slop_s, self._paired)
            self.subscriptions = [
                node.create_subscription(Image, self.depth_topic, self._on_depth, qos),
                node.create_subscription(CameraInfo, self.info_topic, self._on_info, qos)]
            self.backend = "vis_ros.core.approx_sync"

    def destroy(self) -> None:
        """Destroy both subscriptions (deactivate)."""
        for subscription in self.subscriptions:
            self.node.destroy_subscription(subscription)
        self.subscriptions = []

    def _seen_depth(self, msg) -> None:
        self.last_depth_ns = stamp_to_ns(msg.header.stamp)

    def _seen_info(self, msg) -> None:
        self.last_info_ns = stamp_to_ns(msg.header.stamp)

    def _on_depth(self, msg) -> None:
        self._seen_depth(msg)
        self._sync.add(0, self.last_depth_ns, msg)

    def _on_info(self, msg) -> None:
        self._seen_info(msg)
        self._sync.add(1, self.last_info_ns, msg)

    def _paired(self, depth, info) -> None:
        with self._lock:
            self._pairs.append((stamp_to_ns(depth.header.stamp), depth, info))

    def lookup(self, stamp_ns: int):
        """(depth, info) closest to stamp_ns within slop, else (None, reason)."""
        with self._lock:
            pairs = list(self._pairs)
        if pairs:
            best = min(pairs, key=lambda p: abs(p[0] - stamp_ns))
            if abs(best[0] - stamp_ns) <= self.slop_ns:
                return best[1], best[2]
        if self.last_info_ns is None:
            return None, f"no CameraInfo received on {self.info_topic}"
        if self.last_depth_ns is None:
            return None, f"no depth image received on {self.depth_topic}"
        return None, "no depth + CameraInfo pair within sync_slop of the image stamp"
