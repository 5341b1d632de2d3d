"""Offline processing of a rosbag2 with the node's stream runner, no ROS graph needed.

Every image of the cameras' topics goes, in bag order, through the same
StreamRunner the node runs (vis_ros.core.pipeline.runner): the same
decoding, keyframes, engine batching, tracking, failure policy (invalid
frames counted and named, stamps going back reset tracking) and counters.
The outputs (InstanceArray, labels) go into a new bag.

vis_ros message types are registered with rosbags from this package's .msg
files, so the output bag plays back to any ROS 2 node that has vis_ros built.
InstanceArray is written by the node's own serializer (io.instance_wire): the
node and process-bag give the same bytes for the same frame.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import get_types_from_msg

from vis_ros.core.data.stamps import stamp_to_ns
from vis_ros.core.outputs.label_image import label_image
from vis_ros.core.pipeline.camera_stream import Arrival
from vis_ros.core.pipeline.reports import CameraReport, InputCounts
from vis_ros.core.pipeline.runner import FrameIn, Published2D, Published3D, StreamRunner
from vis_ros.io.bag_export import image_message, typestore
from vis_ros.io.bag_images import IMAGE_TYPES, decode_colour
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
    """One image topic of the bag, its camera name, and where its outputs go."""

    topic: str
    name: str
    output_ns: str


def camera_name(topic: str) -> str:
    """Name a camera after its topic's first part: /front/color/image_raw -> front."""
    return topic.strip("/").split("/")[0]


def bag_cameras(topics: list[str], output_ns: str = "/vis_ros") -> list[BagCamera]:
    """One camera per topic; outputs under <output_ns>/<name>/ when there are several.

    Names are the topics' first parts, or cam0, cam1, ... when those collide.
    A topic given twice is refused (it would be one camera read twice).
    """
    repeated = sorted({t for t in topics if topics.count(t) > 1})
    if repeated:
        raise ValueError(f"image topic {', '.join(repeated)} given more than once")
    if len(topics) == 1:
        return [BagCamera(topics[0], "", output_ns)]
    names = [camera_name(t) for t in topics]
    if len(set(names)) != len(names):
        names = [f"cam{i}" for i in range(len(topics))]
    return [BagCamera(t, n, f"{output_ns}/{n}") for t, n in zip(topics, names, strict=True)]


class _BagSink:
    """The runner's FrameSink into the output bag: InstanceArray and labels per camera."""

    def __init__(self, writer: Writer, store, cameras: list[BagCamera]):
        self.writer, self.store = writer, store
        self.topics = [(writer.add_connection(f"{c.output_ns}/instances", "vis_ros/msg/InstanceArray",
                                              typestore=store),
                        writer.add_connection(f"{c.output_ns}/labels", "sensor_msgs/msg/Image", typestore=store))
                       for c in cameras]

    def publish_2d(self, result: Published2D) -> None:
        frame = result.frame
        instances, labels = self.topics[result.camera.index]
        record_ns = result.arrival.arrival_ns  # outputs are recorded at their image's record time
        self.writer.write(instances, record_ns, serialize_instance_array(frame))
        picture = label_image(frame.instances, frame.height, frame.width)
        self.writer.write(labels, record_ns, self.store.serialize_cdr(
            image_message(self.store.types, frame.stamp_ns, frame.frame_id, picture, "16UC1"),
            "sensor_msgs/msg/Image"))

    def publish_3d(self, result: Published3D) -> None:
        raise NotImplementedError("process-bag writes 2D outputs only")


def process_bag(runner: StreamRunner, cameras: list[BagCamera], bag_in: Path, bag_out: Path,
                progress: Callable[[], None] | None = None, max_batch: int = 4) -> list[CameraReport]:
    """Run every image of the cameras' topics through `runner` into a new bag; return a report per camera.

    Consecutive images of different cameras (in bag order, one per camera,
    at most `max_batch`) share one engine call, as in the node.
    """
    store = vis_ros_typestore()
    bag_out = Path(bag_out)
    if bag_out.exists():
        raise FileExistsError(f"{bag_out} exists; rosbag2 writes a new directory")
    by_topic = {c.topic: i for i, c in enumerate(cameras)}
    received = [0] * len(cameras)
    with Reader(bag_in) as reader, Writer(bag_out, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connections = [c for c in reader.connections if c.topic in by_topic]
        missing = sorted(set(by_topic) - {c.topic for c in connections})
        if missing:
            topics = sorted({c.topic for c in reader.connections})
            raise ValueError(f"{bag_in} has no topic {', '.join(missing)}; it has {topics}")
        for c in connections:
            if c.msgtype not in IMAGE_TYPES:
                raise ValueError(f"{c.topic} in {bag_in} is {c.msgtype}, not one of {list(IMAGE_TYPES)}")
        sink = _BagSink(writer, store, cameras)
        batch: list[FrameIn] = []

        def flush():
            if batch:
                runner.run_batch(batch, sink)
                batch.clear()

        for connection, timestamp, raw in reader.messages(connections=connections):
            index = by_topic[connection.topic]
            received[index] += 1
            if progress:
                progress()
            if len(batch) >= max_batch or any(item.camera == index for item in batch):
                flush()
            try:
                msg = store.deserialize_cdr(raw, connection.msgtype)
            except Exception as exc:  # a corrupt message is one invalid frame, as in the node
                runner.reject(runner.cameras[index], exc)
                continue
            batch.append(FrameIn(index, Arrival(stamp_to_ns(msg.header.stamp), timestamp), msg.header.frame_id,
                                 partial(decode_colour, msg, connection.msgtype)))
        flush()
    return [camera.report(InputCounts(received=count)) for camera, count in zip(runner.cameras, received,
                                                                                strict=True)]
