"""Offline processing of a rosbag2 with the node's pipeline, no ROS graph needed.

Run the segmentation + tracking pipeline over a recorded rosbag2 and write
its outputs (InstanceArray, labels) into a new bag, with no ROS graph.

vis_ros message types are registered with rosbags from this package's .msg
files, so the output bag plays back to any ROS 2 node that has vis_ros built.
InstanceArray is written by the node's own serializer (io.instance_wire): the
node and process-bag give the same bytes for the same frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import get_types_from_msg

from vis_ros.core.image_codec import colour_to_rgb
from vis_ros.core.labels import label_image
from vis_ros.core.pipeline import process_together
from vis_ros.core.settings import OutputSettings, node_defaults
from vis_ros.core.stamps import stamp_to_ns
from vis_ros.io.bag_export import image_message, typestore
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


@dataclass(frozen=True)
class BagCamera:
    """One image topic of the bag, its pipeline (tracker) and where its outputs go."""

    topic: str
    pipeline: object
    output_ns: str


def camera_name(topic: str) -> str:
    """Name a camera after its topic's first part: /front/color/image_raw -> front."""
    return topic.strip("/").split("/")[0]


def bag_cameras(topics: list[str], build, output_ns: str = "/vis_ros") -> list[BagCamera]:
    """One camera per topic; outputs under <output_ns>/<name>/ when there are several.

    `build(index)` makes camera `index`'s pipeline (sharing one engine and
    one id source). Names are the topics' first parts, or cam0, cam1, ...
    when those collide.
    """
    if len(topics) == 1:
        return [BagCamera(topics[0], build(0), output_ns)]
    names = [camera_name(t) for t in topics]
    if len(set(names)) != len(names):
        names = [f"cam{i}" for i in range(len(topics))]
    return [BagCamera(t, build(i), f"{output_ns}/{n}") for i, (t, n) in enumerate(zip(topics, names, strict=True))]


def process_bag(cameras: list[BagCamera], bag_in: Path, bag_out: Path, progress=None,
                outputs: OutputSettings | None = None, max_batch: int = 4) -> dict:
    """Run every image of the cameras' topics through their pipelines into a new bag.

    Consecutive images of different cameras (in bag order, one per camera,
    at most `max_batch`) share one engine call, as in the node. InstanceArray
    and labels are written as the node writes them: the same serializer and
    the same publish filter, from `outputs` (by default the node's).
    """
    outputs = outputs or node_defaults().outputs
    store = vis_ros_typestore()
    bag_out = Path(bag_out)
    if bag_out.exists():
        raise FileExistsError(f"{bag_out} exists; rosbag2 writes a new directory")
    counts = {"images": 0, "instance_arrays": 0, "invalid": 0}
    by_topic = {c.topic: c for c in cameras}
    with Reader(bag_in) as reader, Writer(bag_out, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connections = [c for c in reader.connections if c.topic in by_topic]
        missing = sorted(set(by_topic) - {c.topic for c in connections})
        if missing:
            topics = sorted({c.topic for c in reader.connections})
            raise ValueError(f"{bag_in} has no topic {', '.join(missing)}; it has {topics}")
        sinks = {c.topic: (writer.add_connection(f"{c.output_ns}/instances", "vis_ros/msg/InstanceArray",
                                                 typestore=store),
                           writer.add_connection(f"{c.output_ns}/labels", "sensor_msgs/msg/Image", typestore=store))
                 for c in cameras}
        batch: list = []

        def flush():
            _process_batch(batch, by_topic, sinks, writer, store, outputs, counts, progress)
            batch.clear()

        for connection, timestamp, raw in reader.messages(connections=connections):
            if len(batch) >= max_batch or any(item[0].topic == connection.topic for item in batch):
                flush()
            batch.append((connection, timestamp, raw))
        flush()
    return counts


def _process_batch(batch, by_topic, sinks, writer, store, outputs, counts, progress) -> None:
    frames = []
    for connection, timestamp, raw in batch:
        msg = store.deserialize_cdr(raw, connection.msgtype)
        counts["images"] += 1
        try:
            rgb = colour_to_rgb(msg.encoding, msg.height, msg.width, msg.step, bool(msg.is_bigendian), msg.data)
        except ValueError:
            counts["invalid"] += 1
            continue
        camera = by_topic[connection.topic]
        frames.append((camera, timestamp, (camera.pipeline, np.ascontiguousarray(rgb), stamp_to_ns(msg.header.stamp),
                                           msg.header.frame_id)))
    outs = process_together([frame for _, _, frame in frames])
    for (camera, timestamp, _), out in zip(frames, outs, strict=True):
        _write(out.frame, camera, timestamp, sinks, writer, store, outputs, counts, progress)


def _write(frame, camera: BagCamera, timestamp, sinks, writer, store, outputs, counts, progress) -> None:
    frame = frame.published(outputs.publish_tentative, outputs.class_filter)  # as the node publishes
    instances, labels = sinks[camera.topic]
    writer.write(instances, timestamp, serialize_instance_array(frame))
    picture = label_image(frame.instances, frame.height, frame.width)
    writer.write(labels, timestamp, store.serialize_cdr(
        image_message(store.types, frame.stamp_ns, frame.frame_id, picture, "16UC1"), "sensor_msgs/msg/Image"))
    counts["instance_arrays"] += 1
    if progress:
        progress()
