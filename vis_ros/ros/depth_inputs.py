"""One camera's aligned depth + CameraInfo subscriptions, paired by approximate time.

The pairs go to the camera's DepthPairing (vis_ros.core.streaming.
depth_pairing; the worker's, made with the runner), where each image looks
up its own. Depth and CameraInfo are
paired with message_filters' ApproximateTimeSynchronizer when it is
importable (robots), else with vis_ros.core.streaming.approx_sync (same
contract, tested here). Made at activate through the node's Entities, which
destroy them at deactivate.
"""
from __future__ import annotations

from sensor_msgs.msg import CameraInfo, Image

from vis_ros.core.data.stamps import stamp_to_ns
from vis_ros.core.streaming.depth_pairing import DepthPairing, DepthSample, PairedByStamp
from vis_ros.ros.entities import Entities


class DepthInputs:
    """The depth and camera_info subscriptions and the pairs they make; see the module docstring."""

    def __init__(self, entities: Entities, qos, pairing: DepthPairing, slop_s: float, queue_size: int,
                 prefix: str = ""):
        node = entities.node
        depth_topic, info_topic = f"{prefix}depth", f"{prefix}camera_info"
        self.pairing = pairing
        try:
            import message_filters
        except ImportError:
            paired = PairedByStamp(self.pairing, slop_s, queue_size)
            entities.subscription(Image, depth_topic, paired.add_depth, qos)
            entities.subscription(CameraInfo, info_topic, paired.add_info, qos)
            self.backend = "vis_ros.core.streaming.approx_sync"
            return
        subscribers = []
        inputs = ((Image, depth_topic, self._seen_depth), (CameraInfo, info_topic, self._seen_info))
        for msg_type, topic, seen in inputs:
            subscriber = message_filters.Subscriber(node, msg_type, topic, qos_profile=qos)
            entities.add(subscriber, f"subscription {subscriber.sub.topic_name}",
                         lambda sub=subscriber.sub: node.destroy_subscription(sub))
            subscriber.registerCallback(seen)
            subscribers.append(subscriber)
        self._sync = message_filters.ApproximateTimeSynchronizer(subscribers, queue_size, slop_s)
        self._sync.registerCallback(self._paired)
        self.backend = "message_filters"

    def _seen_depth(self, msg) -> None:
        self.pairing.seen_depth(stamp_to_ns(msg.header.stamp))

    def _seen_info(self, msg) -> None:
        self.pairing.seen_info(stamp_to_ns(msg.header.stamp))

    def _paired(self, depth, info) -> None:
        self.pairing.add(DepthSample.of(depth, info))
