"""Colour images of one rosbag2 topic, decoded as the node decodes them (raw or compressed)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import Reader

from vis_ros.core.codecs.images import colour_to_rgb, compressed_to_rgb
from vis_ros.io.bag_export import typestore
from vis_ros.io.bag_reading import read_messages

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


def decode_colour(msg, msgtype: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a deserialized Image or CompressedImage; InputError naming what is wrong."""
    if msgtype == "sensor_msgs/msg/CompressedImage":
        return compressed_to_rgb(msg.format, msg.data)
    return colour_to_rgb(msg.encoding, msg.height, msg.width, msg.step, bool(msg.is_bigendian), msg.data)


def colour_images(bag: Path, topic: str) -> Iterator[np.ndarray | None]:
    """Yield every image of `topic` in `bag` as RGB, None for one that cannot be decoded.

    ValueError names the topics the bag has when `topic` is not one of them.
    """
    store = typestore()
    with Reader(bag) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        if not connections:
            raise ValueError(f"{bag} has no topic {topic}; it has {sorted({c.topic for c in reader.connections})}")
        for connection, _, raw in read_messages(reader, connections, bag):
            try:
                yield decode_colour(store.deserialize_cdr(raw, connection.msgtype), connection.msgtype)
            except ValueError:
                yield None
