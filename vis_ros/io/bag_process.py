"""Offline processing of a rosbag2 with the node's pipeline, no ROS graph needed.

Run the segmentation + tracking pipeline over a recorded rosbag2 and write
its outputs (InstanceArray, labels) into a new bag, with no ROS graph.

vis_ros message types are registered with rosbags from this package's .msg
files, so the output bag plays back to any ROS 2 node that has vis_ros built.
InstanceArray is written by the node's own serializer (io.instance_wire): the
node and process-bag give the same bytes for the same frame.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import get_types_from_msg

from vis_ros.core.image_codec import colour_to_rgb
from vis_ros.core.labels import label_image
from vis_ros.core.settings import OutputSettings, node_defaults
from vis_ros.core.stamps import stamp_to_ns
from vis_ros.io.bag_export import COLOR_TOPIC, image_message, typestore
from vis_ros.io.instance_wire import serialize_instance_array

_MSG_NAMES = ("Instance", "InstanceArray", "Instance3D", "Instance3DArray")


def msg_dir() -> Path:
    """Find the .msg files: the colcon share dir, else the source checkout."""
    try:
        from ament_index_python.packages import get_package_share_directory

        folder = Path(get_package_share_directory("vis_ros")) / "msg"
        if folder.is_dir():
            return folder
    except Exception:  # not installed with colcon
        pass
    return Path(__file__).resolve().parents[2] / "msg"


def vis_ros_typestore():
    """Return a type store that also knows vis_ros's messages, from its .msg files."""
    store = typestore()
    types = {}
    for name in _MSG_NAMES:
        text = (msg_dir() / f"{name}.msg").read_text()
        types.update(get_types_from_msg(text, f"vis_ros/msg/{name}"))
    store.register(types)
    return store


def process_bag(pipeline, bag_in: Path, bag_out: Path, image_topic: str = COLOR_TOPIC,
                output_ns: str = "/vis_ros", progress=None, outputs: OutputSettings | None = None) -> dict:
    """Run every image of `image_topic` through `pipeline` into a new bag.

    InstanceArray and labels are written as the node writes them: the same
    serializer and the same publish filter, from `outputs` (by default the
    node's).
    """
    outputs = outputs or node_defaults().outputs
    store = vis_ros_typestore()
    types = store.types
    bag_out = Path(bag_out)
    if bag_out.exists():
        raise FileExistsError(f"{bag_out} exists; rosbag2 writes a new directory")
    counts = {"images": 0, "instance_arrays": 0, "invalid": 0}
    with Reader(bag_in) as reader, Writer(bag_out, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connections = [c for c in reader.connections if c.topic == image_topic]
        if not connections:
            topics = sorted({c.topic for c in reader.connections})
            raise ValueError(f"{bag_in} has no topic {image_topic}; it has {topics}")
        out_instances = writer.add_connection(f"{output_ns}/instances", "vis_ros/msg/InstanceArray",
                                              typestore=store)
        out_labels = writer.add_connection(f"{output_ns}/labels", "sensor_msgs/msg/Image", typestore=store)
        for connection, timestamp, raw in reader.messages(connections=connections):
            msg = store.deserialize_cdr(raw, connection.msgtype)
            counts["images"] += 1
            try:
                rgb = colour_to_rgb(msg.encoding, msg.height, msg.width, msg.step, bool(msg.is_bigendian),
                                    msg.data)
            except ValueError:
                counts["invalid"] += 1
                continue
            stamp = stamp_to_ns(msg.header.stamp)
            frame = pipeline.process(np.ascontiguousarray(rgb), stamp, msg.header.frame_id).frame
            frame = frame.published(outputs.publish_tentative, outputs.class_filter)  # as the node publishes
            writer.write(out_instances, timestamp, serialize_instance_array(frame))
            labels = label_image(frame.instances, frame.height, frame.width)
            writer.write(out_labels, timestamp, store.serialize_cdr(
                image_message(types, stamp, msg.header.frame_id, labels, "16UC1"), "sensor_msgs/msg/Image"))
            counts["instance_arrays"] += 1
            if progress:
                progress()
    return counts
