"""Quantize a YOLO-seg ONNX model to INT8 for the CPU (ONNX Runtime, QDQ), calibrated.

Calibration images come from a folder (--images), a rosbag2 image topic
(--bag, --topic) or the simulator (--sim N); they are pre-processed exactly
as at inference. The detection head's decode tail stays in float (see
models/README.md for why). Works on the embedded model and on Ultralytics
YOLOv8 / YOLO11-seg exports; a model that is not in that layout is refused
with the reason, as the node refuses it.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--onnx", type=Path, default=None, help="YOLO-seg ONNX model (default: embedded)")
    parser.add_argument("--out", type=Path, required=True, help="INT8 model to write")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", type=Path, help="folder of calibration images (png, jpg, bmp)")
    source.add_argument("--bag", type=Path, help="rosbag2 with an image topic")
    source.add_argument("--sim", type=int, metavar="N", help="N simulated frames (one scene each)")
    parser.add_argument("--topic", default="/camera/color/image_raw", help="image topic in --bag")
    parser.add_argument("--count", type=int, default=100, help="calibration images at most (default 100)")


def run(args: argparse.Namespace) -> int:
    """Quantize, report what was kept in float and how many images were used or skipped."""
    from tqdm import tqdm

    from vis_ros.core.data.model_path import resolve_model
    from vis_ros.core.model_tools.quantize import quantize_model
    from vis_ros.io.calibration_images import CalibrationSource

    source = CalibrationSource(folder=args.images, bag=args.bag, topic=args.topic, sim_frames=args.sim or 0,
                               count=args.sim or args.count)
    with tqdm(total=source.count, desc="calibrating", unit="img") as bar:
        report = quantize_model(resolve_model(args.onnx), args.out, source, progress=bar.update)
    print(f"wrote {report.out}: INT8, calibrated on {report.calibration_images} images"
          f" ({report.skipped_images} unreadable skipped) from {report.source};"
          f" {len(report.float_nodes)} decode-tail nodes kept in float")
    return 0
