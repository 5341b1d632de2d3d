"""The node's subscriptions: created together at activate, destroyed together at deactivate.

The colour image (raw or compressed) goes to the worker's slot; with
use_depth, aligned depth + CameraInfo are paired by DepthInputs. A failure
part-way destroys what was already made, so a retried activate never
subscribes twice. The watch for a matched but silent camera lives here
because only the inputs know the resolved topic.
"""
from __future__ import annotations

import time

from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from vis_ros.core.input_watch import InputWatch
from vis_ros.core.settings import InputSettings


class NodeInputs:
    """The node's subscriptions while active; see the module docstring."""

    def __init__(self, node, settings: InputSettings, on_image):
        self.node = node
        self.depth = None
        self.input_watch = InputWatch()
        reliability = (ReliabilityPolicy.RELIABLE if settings.qos_reliability == "reliable"
                       else ReliabilityPolicy.BEST_EFFORT)
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=settings.qos_depth, reliability=reliability)
        msg_type, topic = (CompressedImage, "image/compressed") if settings.compressed_input else (Image, "image")
        self.image_topic = node.resolve_topic_name(topic)
        events = SubscriptionEventCallbacks(incompatible_qos=self._incompatible)
        self._image = node.create_subscription(msg_type, topic, on_image, qos, event_callbacks=events)
        try:
            if settings.use_depth:
                from vis_ros.ros.depth_inputs import DepthInputs

                self.depth = DepthInputs(node, qos, settings.sync_slop, settings.sync_queue_size)
                node.get_logger().info(f"depth on: {node.resolve_topic_name('depth')} +"
                                       f" {node.resolve_topic_name('camera_info')} paired by"
                                       f" {self.depth.backend}, slop {settings.sync_slop} s")
        except Exception:
            self.destroy()
            raise
        node.get_logger().info(
            f"subscribed to {self.image_topic} ({msg_type.__name__}) with QoS {settings.qos_reliability},"
            f" depth {settings.qos_depth} (best_effort accepts any publisher; reliable needs a reliable one)")

    def destroy(self) -> None:
        """Destroy every subscription this made (deactivate)."""
        if self.depth is not None:
            self.depth.destroy()
            self.depth = None
        if self._image is not None:
            self.node.destroy_subscription(self._image)
            self._image = None

    def _incompatible(self, event) -> None:
        self.node.get_logger().warning(
            f"a publisher on {self.image_topic} offers QoS incompatible with this subscription (policy id"
            f" {event.last_policy_kind}); no images will arrive. Match qos_reliability to the camera"
            " driver (best_effort for most sensor drivers).", throttle_duration_sec=5.0)

    def check_flow(self, frames_received: int) -> None:
        """Warn (throttled) while a publisher is matched but no image arrives."""
        warning = self.input_watch.check(time.monotonic(), frames_received,
                                         self.node.count_publishers(self.image_topic), self.image_topic)
        if warning:
            self.node.get_logger().warning(warning, throttle_duration_sec=30.0)
