"""Offline processing of a rosbag2 with the node's stream runner, no ROS graph needed.

Every image of the cameras' topics (sensor_msgs/Image or CompressedImage)
goes, in record order, through the same StreamRunner the node runs
(vis_ros.core.pipeline.runner): the same decoding, keyframes, engine
batching, tracking, failure policy (invalid frames counted and named, stamps
going back reset tracking) and counters. Depth + CameraInfo topics are
paired by approximate time as the node pairs them, and a frame's 3D waits
for depth recorded after it as the node waits (`depth_wait`, on the bag's
record clock). With a target_frame, the bag's /tf and /tf_static feed a
transform buffer in record order, and a frame's 3D waits for the camera's
pose at its stamp the same way, then is fused in that frame, as the node
does with TF. The outputs go to a new bag (bag_outputs.py), with a summary
(`vis_ros_summary.json`) and, if asked, the instance index
(`instances.parquet`) inside it.

The new bag is written under a temporary name beside OUT and renamed to OUT
only when complete: an interrupted or failed run leaves no output that looks
finished. A bag that cannot be read (missing, corrupt, truncated), a topic
it does not have, or an output that exists or cannot be written is a
ValueError or OSError naming it.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rosbags.rosbag2 import Reader, StoragePlugin, Writer

from vis_ros.core.config.factories import build_runner, build_segmenter, depth_sources
from vis_ros.core.config.settings import NodeSettings, node_defaults
from vis_ros.core.data.files import write_json
from vis_ros.core.data.stamps import stamp_to_ns
from vis_ros.core.engine.segmenter import Segmenter
from vis_ros.core.fusion.transform import Rigid
from vis_ros.core.outputs.catalogue import camera_prefix
from vis_ros.core.pipeline.results import Arrival, FrameIn, Tee
from vis_ros.core.streaming.depth_pairing import PairedByStamp
from vis_ros.core.streaming.notices import Notices
from vis_ros.core.streaming.transforms import TransformBuffer
from vis_ros.io.bag_images import IMAGE_TYPES, decode_colour
from vis_ros.io.bag_outputs import BagCamera, BagOutputs
from vis_ros.io.bag_reading import open_bag, read_messages
from vis_ros.io.output_messages import ROSBAG2_VERSION, OutputMessages
from vis_ros.io.summaries import BagSummary, CameraSummary

NODE_NS = "/vis_ros"  # where the node publishes, by default: the outputs go under it
SUMMARY_NAME = "vis_ros_summary.json"
INDEX_NAME = "instances.parquet"
DEPTH_TYPES = {"depth": ("sensor_msgs/msg/Image",), "info": ("sensor_msgs/msg/CameraInfo",)}
TF_TOPICS = {"/tf": False, "/tf_static": True}  # topic -> static
TF_TYPES = ("tf2_msgs/msg/TFMessage",)


def camera_name(topic: str) -> str:
    """Name a camera after its topic's first part: /front/color/image_raw -> front."""
    return topic.strip("/").split("/")[0]


def bag_cameras(topics: list[str], depth_topics: list[str] = (), info_topics: list[str] = (),
                output_ns: str = NODE_NS) -> list[BagCamera]:
    """One camera per image topic; outputs under <output_ns>/<name>/ when there are several.

    Names are the topics' first parts, or cam0, cam1, ... when those collide.
    Depth and CameraInfo topics, when given, are one each per image topic, in
    the same order ("" for a camera without depth). A topic given twice, a
    count that does not match, or depth without CameraInfo is refused.
    """
    repeated = sorted({t for t in topics if topics.count(t) > 1})
    if repeated:
        raise ValueError(f"image topic {', '.join(repeated)} given more than once")
    depth_topics, info_topics = list(depth_topics), list(info_topics)
    if len(depth_topics) != len(info_topics) or depth_topics and len(depth_topics) != len(topics):
        raise ValueError(f"give one --depth-topic and one --info-topic per --image-topic ({len(topics)} image,"
                         f" {len(depth_topics)} depth, {len(info_topics)} info topics; '' for a camera without)")
    unpaired = [t for t, d, i in zip(topics, depth_topics, info_topics, strict=False) if bool(d) != bool(i)]
    if unpaired:
        raise ValueError(f"depth needs both a depth and a CameraInfo topic: {unpaired}")
    depth_topics = depth_topics or [""] * len(topics)
    info_topics = info_topics or [""] * len(topics)
    names = [camera_name(t) for t in topics] if len(topics) > 1 else [""]
    if len(set(names)) != len(names):
        names = [f"cam{i}" for i in range(len(topics))]
    return [BagCamera(t, n, f"{output_ns}/{camera_prefix(n)}".rstrip("/"), d, i)
            for t, n, d, i in zip(topics, names, depth_topics, info_topics, strict=True)]


@dataclass(frozen=True)
class BagRun:
    """What to run over a bag: the node's settings and engine, and what the summary says of them."""

    settings: NodeSettings
    segmenter: Segmenter
    notices: Notices
    index: bool = False  # also write the instance index (instances.parquet, needs pyarrow)
    output_ns: str = NODE_NS  # the node's name: label_info goes here, the cameras' outputs below

    @classmethod
    def build(cls, parameters: Mapping, log_name: str, index: bool = False) -> BagRun:
        """Load the engine for the node's `parameters` (the others at their defaults), warmed up; log as `log_name`."""
        settings = node_defaults(**parameters)
        segmenter = build_segmenter(settings)
        return cls(settings, segmenter, Notices(logging.getLogger(log_name)), index=index)


def image_count(bag: Path, topics: Sequence[str]) -> int | None:
    """Return how many messages `bag` holds on `topics` (a progress bar's total); None if it cannot be read."""
    try:
        with Reader(bag) as reader:
            return sum(c.msgcount for c in reader.connections if c.topic in set(topics))
    except Exception:  # process_bag names what is wrong with the bag
        return None


def process_bag(run: BagRun, cameras: list[BagCamera], bag_in: Path, bag_out: Path,
                progress: Callable[[int], None] | None = None) -> BagSummary:
    """Run every image of the cameras' topics through a fresh stream runner into a new bag; return its summary.

    Consecutive images of different cameras (in record order, one per camera,
    at most the settings' `max_batch`) share one engine call, as in the node. `progress(n)`
    is told of every n images read.
    """
    bag_in, bag_out = Path(bag_in), Path(bag_out)
    if bag_out.exists():
        raise FileExistsError(f"{bag_out} exists; process-bag writes a new bag and never replaces one")
    if not bag_out.parent.is_dir():
        raise NotADirectoryError(f"cannot write into {bag_out.parent}: not a folder")
    if not os.access(bag_out.parent, os.W_OK):
        raise PermissionError(f"cannot write into {bag_out.parent}: permission denied")
    staging = bag_out.parent / f".{bag_out.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)  # what an interrupted run left
    staging.mkdir()
    try:
        summary = _process(run, cameras, bag_in, staging / bag_out.name, progress).written_to(str(bag_out))
        write_json(staging / bag_out.name / SUMMARY_NAME, summary.to_json())
        os.rename(staging / bag_out.name, bag_out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _process(run: BagRun, cameras: list[BagCamera], bag_in: Path, out: Path, progress) -> BagSummary:
    settings = run.settings
    clock = [0]  # the record time of the message being read: the runner's clock for the wait for depth
    depth = depth_sources(settings, [(c.depth_topic, c.info_topic) if c.depth_topic else None for c in cameras])
    target_frame = settings.depth.target_frame if settings.inputs.use_depth else ""
    transforms = TransformBuffer(target_frame) if target_frame else None
    runner = build_runner(settings, run.segmenter, run.notices, cameras=[c.name for c in cameras],
                          now_ns=lambda: clock[0], depth=depth, transforms=transforms)
    started = time.monotonic()
    received = [0] * len(cameras)
    with open_bag(bag_in) as reader, contextlib.ExitStack() as stack:
        connections, roles = _connections(reader, cameras, bag_in, bool(transforms))
        inputs = settings.inputs  # depth and CameraInfo, in record order, paired into each camera's source
        pairing = {i: PairedByStamp(source, inputs.sync_slop, inputs.sync_queue_size)
                   for i, source in enumerate(depth) if source is not None}
        messages = OutputMessages()
        with Writer(out, version=ROSBAG2_VERSION, storage_plugin=StoragePlugin.MCAP) as writer:
            outputs = BagOutputs(writer, messages, cameras, settings)
            sink = outputs
            if run.index:
                from vis_ros.io.bag_index import InstanceIndex

                instances = InstanceIndex(out / INDEX_NAME, bag_in.name, [c.key for c in cameras],
                                          [bool(c.depth_topic) for c in cameras])
                stack.callback(instances.close)  # on an error the staging folder goes, the index with it
                sink = Tee(outputs, instances)
            batch: list[FrameIn] = []

            def flush():
                if batch:
                    runner.run_batch(batch, sink)
                    batch.clear()

            first = True
            for connection, timestamp, raw in read_messages(reader, connections, bag_in):
                clock[0] = timestamp
                if first:
                    outputs.label_info(run.output_ns, timestamp, run.segmenter.class_names,
                                       settings.tracker.high_score)
                    first = False
                role, index = roles[connection.topic]
                if role == "tf":
                    _add_transforms(transforms, messages.store.deserialize_cdr(raw, connection.msgtype),
                                    TF_TOPICS[connection.topic])
                    runner.service_3d(sink)
                    continue
                if role != "image":
                    msg = messages.store.deserialize_cdr(raw, connection.msgtype)
                    (pairing[index].add_depth if role == "depth" else pairing[index].add_info)(msg)
                    runner.service_3d(sink)
                    continue
                received[index] += 1
                if progress:
                    progress(1)
                if len(batch) >= settings.batch.max_batch or any(item.camera == index for item in batch):
                    flush()
                try:
                    msg = messages.store.deserialize_cdr(raw, connection.msgtype)
                except Exception as exc:  # a corrupt message is one invalid frame, as in the node
                    runner.reject(runner.cameras[index], exc)
                    continue
                batch.append(FrameIn(index, Arrival(stamp_to_ns(msg.header.stamp), timestamp), msg.header.frame_id,
                                     partial(decode_colour, msg, connection.msgtype)))
            flush()
            runner.service_3d(sink, final=True)  # the bag has ended: no more depth will come
    return _summary(run, cameras, bag_in, runner, received, outputs.track_ids, time.monotonic() - started)


def _add_transforms(buffer: TransformBuffer, message, static: bool) -> None:
    """Feed a tf2_msgs/TFMessage's transforms to the buffer."""
    for t in message.transforms:
        q, p = t.transform.rotation, t.transform.translation
        buffer.add(t.header.frame_id, t.child_frame_id, stamp_to_ns(t.header.stamp),
                   Rigid((q.x, q.y, q.z, q.w), (p.x, p.y, p.z)), static=static)


def _connections(reader: Reader, cameras: list[BagCamera], bag_in: Path, with_tf: bool = False):
    """Return the connections to read and each one's role and camera; ValueError for a missing topic."""
    wanted = {}
    for index, camera in enumerate(cameras):
        wanted[camera.topic] = ("image", index, IMAGE_TYPES)
        if camera.depth_topic:
            wanted[camera.depth_topic] = ("depth", index, DEPTH_TYPES["depth"])
            wanted[camera.info_topic] = ("info", index, DEPTH_TYPES["info"])
    available = {c.topic: c for c in reader.connections}
    if with_tf:
        tf_topics = [topic for topic in TF_TOPICS if topic in available]
        if not tf_topics:
            raise ValueError(f"a target frame needs the transforms: {bag_in} has neither /tf nor /tf_static;"
                             f" it has {sorted(available)}")
        wanted.update(dict.fromkeys(tf_topics, ("tf", -1, TF_TYPES)))
    missing = sorted(set(wanted) - set(available))
    if missing:
        raise ValueError(f"{bag_in} has no topic {', '.join(missing)}; it has {sorted(available)}")
    for topic, (role, _, types) in wanted.items():
        if available[topic].msgtype not in types:
            raise ValueError(f"{topic} in {bag_in} is {available[topic].msgtype}; a {role} topic is one of"
                             f" {list(types)}")
    connections = [c for c in reader.connections if c.topic in wanted]
    return connections, {topic: (role, index) for topic, (role, index, _) in wanted.items()}


def _summary(run: BagRun, cameras: list[BagCamera], bag_in: Path, runner, received: list[int],
             track_ids: list[set[int]], seconds: float) -> BagSummary:
    per_camera = {}
    for index, (camera, count, ids) in enumerate(zip(cameras, received, track_ids, strict=True)):
        stream, counts = runner.cameras[index], runner.report(index).counts
        per_camera[camera.key] = CameraSummary(
            camera.topic, camera.depth_topic, count, counts.frames_processed, counts.frames_invalid,
            counts.frames_without_3d if camera.depth_topic else None, counts.keyframes, counts.pipeline_resets,
            len(ids), stream.last_error)
    segmenter = run.segmenter
    return BagSummary(str(bag_in), segmenter.model_path.name, segmenter.precision, segmenter.backend.describe(),
                      per_camera, sum(received), round(seconds, 3))
