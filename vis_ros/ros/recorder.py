"""Subscribes to the node's outputs and keeps what arrived, with arrival times."""
from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image

from vis_ros.core.data.stamps import stamp_to_ns
from vis_ros.msg import InstanceArray
from vis_ros.ros.convert import frame_from_msg
from vis_ros.ros.image_msgs import rgb_from_msg


class OutputRecorder:
    """Keeps every output of a node under `namespace` that arrives, for the demo, bench and tests."""

    def __init__(self, node: Node, namespace: str = "/vis_ros", overlay: bool = True, labels: bool = True):
        self.node = node
        self.frames = []  # (arrival ns, InstanceFrame)
        self.overlays = []  # (stamp ns, rgb)
        self.labels = {}  # stamp ns -> Image msg
        self.diagnostics = []
        self._overlay_wanted = overlay
        qos = QoSProfile(depth=50)
        node.create_subscription(InstanceArray, f"{namespace}/instances", self._on_instances, qos)
        if labels:  # the node only renders labels / overlay while someone subscribes
            node.create_subscription(Image, f"{namespace}/labels", self._on_labels, qos)
        node.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append, 10)
        if overlay:
            node.create_subscription(Image, f"{namespace}/overlay", self._on_overlay, qos)

    def _on_instances(self, msg) -> None:
        self.frames.append((self.node.get_clock().now().nanoseconds, frame_from_msg(msg)))

    def _on_labels(self, msg) -> None:
        self.labels[stamp_to_ns(msg.header.stamp)] = msg

    def _on_overlay(self, msg) -> None:
        self.overlays.append((stamp_to_ns(msg.header.stamp), rgb_from_msg(msg).copy()))

    def last_counters(self, camera: str = "", node: str | None = None) -> dict:
        """Return the values of a camera's last status on /diagnostics (the unnamed camera's by default).

        `node` names the node when several publish (else any node's status of that camera).
        """
        label = f": {camera or 'pipeline'}"
        for array in reversed(self.diagnostics):
            for status in array.status:
                if status.name.endswith(label) and (node is None or status.name == f"{node}{label}"):
                    return {kv.key: kv.value for kv in status.values}
        return {}

    def accounted_for(self, published: int, camera: str = "") -> bool:
        """Return whether the node's last status accounts for `published` frames and every output arrived.

        Accounted: processed, dropped stale, rejected as invalid or lost in
        transport (the node's counters); arrived: this recorder holds an
        InstanceArray (and overlay) for every frame the node processed.
        """
        counters = {k: int(v) for k, v in self.last_counters(camera).items() if k.startswith("frames_")}
        processed = counters.get("frames_processed", 0)
        settled = sum(counters.get(k, 0) for k in ("frames_processed", "frames_dropped_stale", "frames_invalid",
                                                    "frames_lost_in_transport"))
        overlays_in = not self._overlay_wanted or len(self.overlays) >= processed
        return settled >= published and len(self.frames) >= processed and overlays_in
