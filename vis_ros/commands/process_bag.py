"""Run the node's pipeline over a recorded rosbag2 and write its outputs to a new bag.

Reads mcap or sqlite3 bags (rosbags, no ROS install needed), segments and
tracks every colour image (sensor_msgs/Image or CompressedImage) with the
node's stream runner and failure policy, and writes /vis_ros/instances
(InstanceArray) and /vis_ros/labels to OUT (mcap). With several
--image-topic, one tracker per topic (ids unique across them), their images
batched into shared engine calls, outputs under /vis_ros/<camera>/ (camera:
the topic's first part).
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("bag_in", type=Path, help="input rosbag2 directory")
    parser.add_argument("bag_out", type=Path, help="output rosbag2 directory (created)")
    parser.add_argument("--image-topic", action="append", default=None, dest="image_topics",
                        help="image topic; repeat for several cameras (default /camera/color/image_raw)")
    parser.add_argument("--max-batch", type=int, default=None, help="most images per engine call"
                        " (default: the node's max_batch)")
    parser.add_argument("--model", default=None, help="ONNX or engine (default: embedded)")
    parser.add_argument("--keyframe-interval", type=int, default=1)
    parser.add_argument("--score", type=float, default=None,
                        help="score_threshold (default: the node's)")


def run(args: argparse.Namespace) -> int:
    """Process the bag with the node's default pipeline (but for the options given)."""
    from rosbags.rosbag2 import Reader
    from tqdm import tqdm

    from vis_ros.core.config.factories import build_runner, build_segmenter
    from vis_ros.core.config.settings import node_defaults
    from vis_ros.core.streaming.notices import Notices
    from vis_ros.io.bag_process import bag_cameras, process_bag

    # The node's pipeline at its default parameters, but for the ones given here.
    overrides = {"keyframe_interval": args.keyframe_interval}
    if args.score is not None:
        overrides["score_threshold"] = args.score
    if args.model:
        overrides["model"] = str(args.model)
    if args.max_batch is not None:
        overrides["max_batch"] = args.max_batch
    settings = node_defaults(**overrides)
    topics = args.image_topics or ["/camera/color/image_raw"]
    cameras = bag_cameras(topics)
    runner = build_runner(settings, build_segmenter(settings), Notices(logging.getLogger("vis-ros process-bag")),
                          cameras=[c.name for c in cameras])
    with Reader(args.bag_in) as reader:
        total = sum(c.msgcount for c in reader.connections if c.topic in topics)
    with tqdm(total=total, desc="process-bag", unit="img") as bar:
        reports = process_bag(runner, cameras, args.bag_in, args.bag_out, progress=bar.update,
                              max_batch=settings.batch.max_batch)
    processed = sum(r.counts.frames_processed for r in reports)
    images = sum(r.counts.frames_received for r in reports)
    invalid = sum(r.counts.frames_invalid for r in reports)
    print(f"{processed} InstanceArray messages from {images} images ({invalid} invalid) on {len(cameras)}"
          f" topic(s) -> {args.bag_out}")
    return 0
