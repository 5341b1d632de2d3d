"""The node's subscriptions: created together at activate, destroyed together at deactivate.

The colour image (raw or compressed) goes to the worker's slot; with
use_depth, aligned depth + CameraInfo are paired by DepthInputs. Every
subscription is made through the node's Entities of its activate stage, so
a failure part-way (or deactivate) destroys what was made, and a retried
activate never subscribes twice. The image subscription also listens to the middleware:
lost messages (counted by the worker's InputHealth; where the RMW has no
such event, losses are inferred from stamps and the log says so), matched
publishers, and publishers whose QoS does not match.
"""
from __future__ import annotations

import time

from rclpy.event_handler import SubscriptionEventCallbacks, UnsupportedEventTypeError
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from vis_ros.core.config.settings import InputSettings
from vis_ros.core.streaming.depth_pairing import DepthPairing
from vis_ros.core.streaming.input_health import InputHealth, InputReport
from vis_ros.ros.entities import Entities


class CameraInputs:
    """One camera's subscriptions while active; see the module docstring.

    `prefix` is "" for the unnamed camera, else "<name>/": the topics are
    <prefix>image (or <prefix>image/compressed), <prefix>depth and
    <prefix>camera_info, all relative to the node's namespace and remappable.
    """

    def __init__(self, entities: Entities, settings: InputSettings, on_image, health: InputHealth, prefix: str = "",
                 depth: DepthPairing | None = None):
        node = entities.node
        self.node, self.health = node, health
        self.depth = None
        self._matched = 0
        reliability = (ReliabilityPolicy.RELIABLE if settings.qos_reliability == "reliable"
                       else ReliabilityPolicy.BEST_EFFORT)
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=settings.qos_depth, reliability=reliability)
        msg_type, topic = (CompressedImage, f"{prefix}image/compressed") if settings.compressed_input \
            else (Image, f"{prefix}image")
        self.image_topic = node.resolve_topic_name(topic)
        self._subscribe_image(entities, msg_type, topic, on_image, qos)
        if depth is not None:  # the camera's depth source (the worker's): these subscriptions feed it
            from vis_ros.ros.depth_inputs import DepthInputs

            self.depth = DepthInputs(entities, qos, depth, settings.sync_slop, settings.sync_queue_size, prefix)
            node.get_logger().info(f"depth on: {node.resolve_topic_name(prefix + 'depth')} +"
                                   f" {node.resolve_topic_name(prefix + 'camera_info')} paired by"
                                   f" {self.depth.backend}, slop {settings.sync_slop} s")
        node.get_logger().info(
            f"subscribed to {self.image_topic} ({msg_type.__name__}) with QoS {settings.qos_reliability},"
            f" depth {settings.qos_depth} (best_effort accepts any publisher; reliable needs a reliable one)")

    def _subscribe_image(self, entities: Entities, msg_type, topic: str, on_image, qos) -> None:
        events = {"incompatible_qos": self._incompatible, "matched": self._on_matched}
        try:
            entities.subscription(msg_type, topic, on_image, qos,
                                  event_callbacks=SubscriptionEventCallbacks(message_lost=self._on_lost, **events))
            self.health.use(self.image_topic, events=True)
        except UnsupportedEventTypeError:
            entities.subscription(msg_type, topic, on_image, qos, event_callbacks=SubscriptionEventCallbacks(**events))
            self.health.use(self.image_topic, events=False)
            self.node.get_logger().info(f"the middleware reports no lost messages on {self.image_topic}: frames"
                                        " lost in transport are counted from publication sequence numbers,"
                                        " else from gaps in the image stamps")

    def _incompatible(self, event) -> None:
        self.node.get_logger().warning(
            f"a publisher on {self.image_topic} offers QoS incompatible with this subscription (policy id"
            f" {event.last_policy_kind}); no images will arrive from it. Match qos_reliability to the camera"
            " driver (best_effort for most sensor drivers).", throttle_duration_sec=5.0)

    def _on_matched(self, event) -> None:
        self._matched = event.current_count

    def _on_lost(self, event) -> None:
        self.health.on_lost(time.monotonic(), event.total_count_change)

    def report(self) -> InputReport:
        """Return the image input's state; its problem, if any, is logged (throttled)."""
        unmatched = max(self.node.count_publishers(self.image_topic) - self._matched, 0)
        report = self.health.report(time.monotonic(), self._matched, unmatched)
        if report.problem:
            self.node.get_logger().warning(report.problem, throttle_duration_sec=10.0)
        return report
