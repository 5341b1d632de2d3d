"""Run the node's pipeline over a recorded rosbag2 and write its outputs to a new bag.

Reads mcap or sqlite3 bags (rosbags, no ROS install needed), segments and
tracks every colour image, and writes /vis_ros/instances (InstanceArray) and
/vis_ros/labels to OUT (mcap).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("bag_in", type=Path, help="input rosbag2 directory")
    parser.add_argument("bag_out", type=Path, help="output rosbag2 directory (created)")
    parser.add_argument("--image-topic", default="/camera/color/image_raw")
    parser.add_argument("--model", default=None, help="ONNX or engine (default: embedded)")
    parser.add_argument("--keyframe-interval", type=int, default=1)
    parser.add_argument("--score", type=float, default=None,
                        help="score_threshold (default: the node's)")


def run(args: argparse.Namespace) -> int:
    """Process the bag with the node's default pipeline (but for the options given)."""
    from rosbags.rosbag2 import Reader
    from tqdm import tqdm

    from vis_ros.core.settings import build_pipeline, node_defaults
    from vis_ros.io.bag_process import process_bag

    # The node's pipeline at its default parameters, but for the ones given here.
    overrides = {"keyframe_interval": args.keyframe_interval}
    if args.score is not None:
        overrides["score_threshold"] = args.score
    if args.model:
        overrides["model"] = str(args.model)
    try:
        settings = node_defaults(**overrides)
    except ValueError as exc:
        raise SystemExit(f"process-bag: {exc}") from None
    pipeline = build_pipeline(settings)
    with Reader(args.bag_in) as reader:
        total = sum(c.msgcount for c in reader.connections if c.topic == args.image_topic)
    with tqdm(total=total, desc="process-bag", unit="img") as bar:
        counts = process_bag(pipeline, args.bag_in, args.bag_out, args.image_topic, progress=bar.update,
                             outputs=settings.outputs)
    print(f"{counts['instance_arrays']} InstanceArray messages from {counts['images']} images"
          f" ({counts['invalid']} invalid) -> {args.bag_out}")
    return 0
