"""Track MOTChallenge detections (boxes only) and write MOTChallenge tracks.

Lets the tracker be compared with published trackers on public benchmarks:
run it on a sequence's det.txt and score tracks.txt with the benchmark's
tools (e.g. trackeval). Uses box IoU association (no masks in MOT files).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--detections", type=Path, required=True, help="MOT det.txt")
    parser.add_argument("--out", type=Path, required=True, help="tracks.txt to write")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate (timestamps from frame numbers)")
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--high-score", type=float, default=0.5)
    parser.add_argument("--low-score", type=float, default=0.1)
    parser.add_argument("--min-hits", type=int, default=3)
    parser.add_argument("--max-age", type=float, default=1.0, help="seconds a lost track coasts")
    parser.add_argument("--all-states", action="store_true", help="also write tentative and coasting tracks")


def run(args: argparse.Namespace) -> int:
    """Track MOTChallenge detections and write MOT results."""
    from vis_ros.core.data.instances import TrackState
    from vis_ros.core.tracking.config import TrackerConfig
    from vis_ros.core.tracking.tracker import Tracker
    from vis_ros.io.mot import format_track_line, read_mot, rows_to_detections

    frames = read_mot(args.detections)
    tracker = Tracker(TrackerConfig(high_score=args.high_score, low_score=args.low_score,
                                    min_hits=args.min_hits, max_age_s=args.max_age, cost="box",
                                    mask_weight=0.0, reid_window_s=0.0))
    lines = []
    last = max(frames, default=0)
    for frame in range(1, last + 1):
        dets = rows_to_detections(frames.get(frame, []), args.width, args.height)
        stamp_ns = int(round((frame - 1) / args.fps * 1e9))
        for inst in tracker.update(dets, stamp_ns, (args.height, args.width)):
            if args.all_states or inst.state == TrackState.CONFIRMED:
                lines.append(format_track_line(frame, inst.track_id, inst.box, inst.score))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + ("\n" if lines else ""))
    print(f"{len(lines)} track boxes over {last} frames -> {args.out}")
    return 0
