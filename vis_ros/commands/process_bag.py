"""Run the node's pipeline over a recorded rosbag2 and write its outputs to a new bag.

Reads mcap or sqlite3 bags (rosbags, no ROS install needed), segments and
tracks every colour image, and writes /vis_ros/instances (InstanceArray) and
/vis_ros/labels to OUT (mcap). With several --image-topic, one tracker per
topic (ids unique across them), their images batched into shared engine
calls, outputs under /vis_ros/<camera>/ (camera: the topic's first part).
"""
from __future__ import annotations

import argparse
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

    from vis_ros.core.settings import build_pipeline, node_defaults
    from vis_ros.io.bag_process import process_bag

    # The node's pipeline at its default parameters, but for the ones given here.
    overrides = {"keyframe_interval": args.keyframe_interval}
    if args.score is not None:
        overrides["score_threshold"] = args.score
    if args.model:
        overrides["model"] = str(args.model)
    if args.max_batch is not None:
        overrides["max_batch"] = args.max_batch
    try:
        settings = node_defaults(**overrides)
    except ValueError as exc:
        raise SystemExit(f"process-bag: {exc}") from None
    from vis_ros.core.settings import build_segmenter
    from vis_ros.core.tracking.tracker import TrackIds
    from vis_ros.io.bag_process import bag_cameras

    topics = args.image_topics or ["/camera/color/image_raw"]
    segmenter, ids = build_segmenter(settings), TrackIds()
    cameras = bag_cameras(topics, lambda i: build_pipeline(settings, segmenter, ids=ids, camera=i))
    with Reader(args.bag_in) as reader:
        total = sum(c.msgcount for c in reader.connections if c.topic in topics)
    with tqdm(total=total, desc="process-bag", unit="img") as bar:
        counts = process_bag(cameras, args.bag_in, args.bag_out, progress=bar.update, outputs=settings.outputs,
                             max_batch=args.max_batch or settings.batch.max_batch)
    print(f"{counts['instance_arrays']} InstanceArray messages from {counts['images']} images"
          f" ({counts['invalid']} invalid) on {len(cameras)} topic(s) -> {args.bag_out}")
    return 0
