"""Evaluate a model on held-out simulated frames (scene seeds never used in training).

Segmentation: mask and box mAP50 / mAP50-95 with pycocotools, written as JSON
together with the measured per-stage latency.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--model", default=None, help="ONNX or engine (default: embedded)")
    parser.add_argument("--frames", type=int, default=300, help="held-out frames (default 300)")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads")
    parser.add_argument("--tracking", action="store_true",
                        help="also evaluate tracking (HOTA, IDF1, ID switches) and keyframe propagation")
    parser.add_argument("--sequences", type=int, default=30, help="tracking: sim sequences")
    parser.add_argument("--sequence-frames", type=int, default=90, help="tracking: frames per sequence")
    parser.add_argument("--fusion", action="store_true",
                        help="also evaluate depth fusion against sim 3D ground truth")
    parser.add_argument("--3d", dest="three_d", action="store_true",
                        help="also evaluate the node's 3D end to end (its masks, tracking, keyframes, smoothing)"
                             " against the objects' full boxes, per distance band, still and moving camera")
    parser.add_argument("--memory", action="store_true",
                        help="also evaluate the object memory: objects out of view 2, 10 and 60 s, one taken away,"
                             " a look-alike put elsewhere, beside the tracker alone")
    parser.add_argument("--skip-segmentation", action="store_true", help="skip the mAP part")
    parser.add_argument("--out", type=Path, default=Path("out/eval.json"))


def evaluate_segmentation(model_path, frames: int, width: int = 640, height: int = 480,
                          threads: int = 0, progress=None) -> dict:
    """Score mask mAP on held-out sim frames with pycocotools."""
    import numpy as np

    from vis_ros.core.engine.decoder import DecoderConfig
    from vis_ros.core.engine.segmenter import Segmenter
    from vis_ros.core.sim.scene import SimOptions
    from vis_ros.evaluation.heldout import heldout_frames
    from vis_ros.evaluation.mask_map import MapAccumulator

    # COCO-style evaluation: low score threshold, up to 100 detections.
    segmenter = Segmenter(model_path, decoder=DecoderConfig(score_threshold=0.001, max_detections=100),
                          intra_op_threads=threads)
    segmenter.warm_up()
    accumulator = MapAccumulator(segmenter.class_names)
    timings = {"preprocess": [], "engine": [], "decode": []}
    for _, frame in heldout_frames(frames, options=SimOptions(width=width, height=height)):
        result = segmenter(frame.rgb)
        for k, v in result.timings_s.items():
            timings[k].append(v * 1000.0)
        accumulator.add(frame.instance_ids, frame.objects, result.detections)
        if progress:
            progress()
    summary = accumulator.summarize()
    summary["latency_ms"] = {k: {"median": float(np.median(v)), "p95": float(np.percentile(v, 95))}
                             for k, v in timings.items()}
    summary.update(model=str(model_path), width=width, height=height, backend=segmenter.backend.describe())
    return summary


def run(args: argparse.Namespace) -> int:
    """Run the chosen evaluations and write the JSON report."""
    from tqdm import tqdm

    from vis_ros.core.data.model_path import resolve_model

    model = resolve_model(args.model)
    report = {}
    if not args.skip_segmentation:
        with tqdm(total=args.frames, desc="eval", unit="frame") as bar:
            report["segmentation"] = evaluate_segmentation(model, args.frames, args.width, args.height,
                                                           args.threads, progress=bar.update)
    if args.tracking:
        from vis_ros.evaluation.tracking_eval import evaluate_tracking

        report["tracking"] = evaluate_tracking(model, args.sequences, args.sequence_frames,
                                               threads=args.threads)
    if args.fusion:
        from vis_ros.evaluation.fusion_eval import evaluate_fusion

        report["fusion"] = evaluate_fusion()
    if args.three_d:
        from vis_ros.evaluation.three_d_eval import evaluate_3d

        report["three_d"] = evaluate_3d(args.model or "")
    if args.memory:
        from vis_ros.evaluation.memory_eval import evaluate_memory

        report["memory"] = evaluate_memory(args.model or "")
    from vis_ros.core.data.files import write_json

    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, report)
    print(json.dumps(report, indent=2))
    return 0
