"""Run the node's pipeline over a recorded rosbag2 and write what the node would publish to a new bag.

Reads mcap or sqlite3 bags (rosbags, no ROS install needed). Every colour
image (sensor_msgs/Image or CompressedImage) goes through the node's stream
runner, with its failure policy and counters; with --depth-topic and
--info-topic (one each per --image-topic) depth and CameraInfo are paired as
the node pairs them and 3D is fused (in --target-frame, from the bag's /tf
and /tf_static, where one is given). OUT gets, per camera, instances,
labels, detections and, with depth, instances_3d, markers, points,
detections_3d, plus label_info, under /vis_ros (/vis_ros/<camera>/ for
several cameras, named after each topic's first part), and a summary,
vis_ros_summary.json. OUT appears only when complete.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

DEFAULT_IMAGE_TOPIC = "/camera/color/image_raw"


def add_bag_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options process-bag and process-bags share: topics and the node's parameters."""
    parser.add_argument("--image-topic", action="append", default=None, dest="image_topics",
                        help=f"image topic (Image or CompressedImage); repeat for several cameras"
                             f" (default {DEFAULT_IMAGE_TOPIC})")
    parser.add_argument("--depth-topic", action="append", default=[], dest="depth_topics",
                        help="aligned depth topic, one per --image-topic, in the same order ('' for a camera"
                             " without depth)")
    parser.add_argument("--info-topic", action="append", default=[], dest="info_topics",
                        help="CameraInfo topic, one per --image-topic, in the same order ('' without depth)")
    parser.add_argument("--model", default=None, help="ONNX or engine (default: embedded)")
    parser.add_argument("--precision", default=None, choices=("auto", "fp32", "int8"),
                        help="embedded model's precision (default: the node's, auto)")
    parser.add_argument("--keyframe-interval", type=int, default=None)
    parser.add_argument("--score", type=float, default=None, help="score_threshold (default: the node's)")
    parser.add_argument("--max-batch", type=int, default=None, help="most images per engine call"
                        " (default: the node's max_batch)")
    parser.add_argument("--target-frame", default=None,
                        help="with depth: fuse, smooth and write 3D in this world-fixed frame (map, odom), from"
                             " the bag's /tf and /tf_static at each image's stamp (the node's target_frame)")


def node_parameters(args: argparse.Namespace) -> dict:
    """Return the node's parameters the options set (the rest stay the node's defaults)."""
    given = {"model": args.model, "precision": args.precision, "keyframe_interval": args.keyframe_interval,
             "score_threshold": args.score, "max_batch": args.max_batch, "target_frame": args.target_frame}
    parameters = {k: v for k, v in given.items() if v is not None}
    if any(args.depth_topics):
        parameters["use_depth"] = True
    elif args.target_frame:
        raise ValueError("--target-frame places 3D: give --depth-topic and --info-topic too")
    return parameters


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("bag_in", type=Path, help="input rosbag2 directory")
    parser.add_argument("bag_out", type=Path, help="output rosbag2 directory (created; never replaced)")
    add_bag_arguments(parser)
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (default: all cores)")
    parser.add_argument("--index", action="store_true",
                        help="also write instances.parquet in BAG_OUT: one row per published instance (needs pyarrow)")


def run(args: argparse.Namespace) -> int:
    """Process the bag with the node's default pipeline (but for the options given)."""
    from tqdm import tqdm

    from vis_ros.io.bag_process import BagRun, bag_cameras, image_count, process_bag

    parameters = node_parameters(args)
    if args.threads is not None:
        parameters["threads"] = args.threads
    cameras = bag_cameras(args.image_topics or [DEFAULT_IMAGE_TOPIC], args.depth_topics, args.info_topics)
    run_with = BagRun.build(parameters, "vis-ros process-bag", index=args.index)
    total = image_count(args.bag_in, [c.topic for c in cameras])
    with tqdm(total=total, desc="process-bag", unit="img") as bar:
        summary = process_bag(run_with, cameras, args.bag_in, args.bag_out, progress=bar.update)
    for name, camera in summary.cameras.items():
        without = "" if camera.without_3d is None else f", {camera.without_3d} without 3D"
        print(f"{name}: {camera.processed} of {camera.frames_in} images processed, {camera.invalid}"
              f" invalid{without}, {camera.track_ids} track ids")
    print(f"-> {args.bag_out} ({summary.frames_per_second} images/s); summary: "
          f"{json.dumps({'model': summary.model, 'precision': summary.precision})}")
    return 0
