"""Render a deterministic synthetic RGB-D sequence with ground truth.

Writes DIR/manifest.json plus rgb/, depth/ (16UC1 mm) and instances/ PNGs
(see vis_ros/core/sim/dataset.py for the format) and, with --bag, a rosbag2
with /camera/color/image_raw, /camera/color/camera_info and
/camera/aligned_depth_to_color/image_raw.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--out", type=Path, required=True, help="output folder (created)")
    parser.add_argument("--frames", type=int, default=90, help="number of frames (default 90)")
    parser.add_argument("--seed", type=int, default=0, help="scene seed; same seed, same data")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--objects", type=int, default=None, help="1..30 (default: 3..10 by seed)")
    parser.add_argument("--speed", type=float, default=0.15, help="max object speed, m/s")
    parser.add_argument("--lighting-change", action="store_true", help="slowly varying light")
    parser.add_argument("--motion-blur", action="store_true", help="average 3 renders per frame")
    parser.add_argument("--camera-motion", type=float, default=0.0, help="camera speed, m/s")
    parser.add_argument("--rgb-noise", type=float, default=2.0, help="RGB noise std, 8-bit levels")
    parser.add_argument("--no-depth-defects", action="store_true", help="exact depth, no holes")
    parser.add_argument("--bag", choices=["mcap", "sqlite3"], help="also export DIR/bag as rosbag2")


def run(args: argparse.Namespace) -> int:
    """Render a sim sequence to disk (and optionally a rosbag2)."""
    from tqdm import tqdm

    from vis_ros.core.sim.dataset import SimDataset, write_sequence
    from vis_ros.core.sim.scene import SimOptions

    options = SimOptions(
        width=args.width, height=args.height, fps=args.fps, objects=args.objects,
        object_speed=args.speed, lighting_change=args.lighting_change,
        motion_blur=args.motion_blur, camera_motion=args.camera_motion,
        rgb_noise=args.rgb_noise, depth_defects=not args.no_depth_defects,
    )
    with tqdm(total=args.frames, desc="render", unit="frame") as bar:
        manifest = write_sequence(args.out, args.seed, args.frames, options, progress=bar.update)
    print(f"wrote {args.frames} frames to {manifest.parent}")
    if args.bag:
        from vis_ros.io.bag_export import export_bag

        bag = export_bag(SimDataset(args.out), args.out / "bag", storage=args.bag)
        print(f"wrote rosbag2 ({args.bag}) to {bag}")
    return 0
