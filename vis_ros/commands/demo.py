"""End-to-end demo on real ROS 2 topics with the embedded model.

Renders a simulated RGB-D sequence, starts the vis_ros node in its own
process, plays the sequence to it as camera topics at camera rate, records
the node's outputs, and writes under --out: overlay.avi, a few overlay PNGs,
and summary.json (frames in/out, dropped, latency p50/p95, IDs seen, and
tracking quality against the simulator's ground truth). With --cameras N,
N different sequences play as N cameras (cam1, cam2, ...) to one node with
one engine; the video puts the cameras side by side and the summary has one
entry per camera.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")
    parser.add_argument("--frames", type=int, default=120, help="frames to play")
    parser.add_argument("--seed", type=int, default=2_000_007, help="sim scene seed")
    parser.add_argument("--rate", type=float, default=30.0, help="camera rate, Hz")
    parser.add_argument("--keyframe-interval", type=int, default=1)
    parser.add_argument("--model", default="", help="model for the node (default: embedded)")
    parser.add_argument("--cameras", type=int, default=1, choices=range(1, 7), metavar="N",
                        help="play N different sequences as N cameras to one node (1-6)")


def run(args: argparse.Namespace) -> int:
    """Play a sim sequence to the node in its own process; write the overlay and summary."""
    from vis_ros.core.data.files import write_json
    from vis_ros.core.sim.dataset import SimDataset, write_sequence
    from vis_ros.core.sim.scene import SimOptions
    from vis_ros.ros.node_session import NodeLaunch, node_session
    from vis_ros.ros.player import COLOR, DEPTH, INFO, play_together

    args.out.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()
    names = [""] if args.cameras == 1 else [f"cam{i + 1}" for i in range(args.cameras)]
    model = str(Path(args.model).expanduser().resolve()) if args.model else ""  # the node runs elsewhere
    parameters = {"qos_reliability": "reliable", "model": model, "keyframe_interval": args.keyframe_interval}
    if names != [""]:
        parameters["cameras"] = names
    # The node starts (model loaded, warmed up) while the sequences render.
    with node_session(NodeLaunch(parameters, args.out / "node.log"), args.out, "vis_ros_demo") as session:
        datasets = {}
        for k, name in enumerate(names):
            seq_dir = args.out / ("sequence" if not name else f"sequence_{name}")
            print(f"rendering {args.frames} frames (seed {args.seed + k}) ...", flush=True)
            write_sequence(seq_dir, args.seed + k, args.frames, SimOptions(objects=8, object_speed=0.2))
            datasets[name] = SimDataset(seq_dir)
        players, recorders = {}, {}
        for name, dataset in datasets.items():
            topics = (COLOR, DEPTH, INFO) if not name else (f"/{name}/image", f"/{name}/depth", f"/{name}/camera_info")
            players[name] = session.player(dataset, topics=topics)
            recorders[name] = session.recorder(f"/vis_ros/{name}" if name else "/vis_ros")
        try:
            session.connect(list(players.values()),
                            [f"/vis_ros/{n}/instances" if n else "/vis_ros/instances" for n in names])
        except RuntimeError as exc:
            print(f"error: {exc}; see {args.out / 'node.log'}", file=sys.stderr)
            return 1
        print(f"playing {len(names)} camera(s) at {args.rate:g} Hz ...", flush=True)
        play_together(list(players.values()), args.rate, session.spin)
        session.spin_until(lambda: all(recorders[n].accounted_for(players[n].published, n) for n in names), 5.0)
        per_camera = {name: _summarise(players[name], recorders[name], datasets[name], name) for name in names}
    _write_media([recorders[n] for n in names], args.out)
    summary = per_camera[""] if names == [""] else {"cameras": per_camera}
    summary["wall_time_s"] = round(time.monotonic() - t_start, 1)
    write_json(args.out / "summary.json", summary)
    print(json.dumps(summary, indent=2))
    ok = all(s["frames_out"] > 0 and int(s["node_counters"].get("frames_invalid", 1)) == 0
             for s in per_camera.values()) and all(r.overlays for r in recorders.values())
    if not ok:
        print(f"error: demo failed (invalid frames or no overlay); see {args.out / 'node.log'}", file=sys.stderr)
    return 0 if ok else 1


def _summarise(player, recorder, dataset, camera: str = "") -> dict:
    import numpy as np

    from vis_ros.evaluation.tracking_metrics import score_playback, summarize

    latencies = [(arrival - f.stamp_ns) / 1e6 for arrival, f in recorder.frames]
    gt_rec = score_playback([f for _, f in recorder.frames], player.stamp_to_index, dataset)
    ids = {int(t) for frame_ids in gt_rec.tracker_ids for t in frame_ids}
    counters = recorder.last_counters(camera)
    metrics = summarize([gt_rec]) if gt_rec.gt_ids else {}
    return {
        "frames_in": player.published,
        "frames_out": len(recorder.frames),
        "frames_dropped": int(counters.get("frames_dropped_stale", 0)) + int(counters.get("frames_invalid", 0)),
        "node_counters": counters,
        # Node: image stamp -> publish, measured inside the node (its diagnostics).
        "node_latency_ms": {"p50": _float(counters.get("latency_end_to_end_p50_ms")),
                            "p95": _float(counters.get("latency_end_to_end_p95_ms"))},
        # Here: image stamp -> InstanceArray received by this (busy) demo process.
        "received_latency_ms": {"p50": float(np.percentile(latencies, 50)) if latencies else None,
                                "p95": float(np.percentile(latencies, 95)) if latencies else None},
        "track_ids_seen": sorted(ids),
        "tracking_vs_ground_truth": {k: metrics[k] for k in ("IDF1", "HOTA", "IDSW", "mean_mask_iou")
                                     if k in metrics},
    }


def _float(value):
    return None if value is None else float(value)


def _write_media(recorders, out: Path) -> None:
    """overlay.avi and four overlay PNGs; several cameras side by side, frame by frame."""
    import cv2
    import numpy as np

    streams = [[rgb for _, rgb in sorted(r.overlays, key=lambda x: x[0])] for r in recorders]
    count = min(len(s) for s in streams)
    if count == 0:
        return
    height = max(s[0].shape[0] for s in streams)
    frames = [np.hstack([_pad_to(s[i], height) for s in streams]) for i in range(count)]
    h, w = frames[0].shape[:2]
    video = cv2.VideoWriter(str(out / "overlay.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (w, h))
    for rgb in frames:
        video.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    video.release()
    for k, idx in enumerate(np.linspace(0, count - 1, 4).astype(int) if count > 1 else [0]):
        cv2.imwrite(str(out / f"overlay_{k}.png"), cv2.cvtColor(frames[idx], cv2.COLOR_RGB2BGR))


def _pad_to(rgb, height: int):
    import numpy as np

    if rgb.shape[0] == height:
        return rgb
    return np.vstack([rgb, np.zeros((height - rgb.shape[0], *rgb.shape[1:]), rgb.dtype)])
