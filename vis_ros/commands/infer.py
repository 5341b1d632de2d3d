"""Segment one image with a YOLO-seg model (the embedded default unless --model).

Prints a table of instances; --json writes them with masks in the message
encoding (run lengths local to the box, see msg/Instance.msg); --overlay
writes a picture.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--model", default=None, help="ONNX or TensorRT engine (default: embedded)")
    parser.add_argument("--image", type=Path, required=True, help="image file (any OpenCV format)")
    parser.add_argument("--json", type=Path, help="write instances as JSON here")
    parser.add_argument("--overlay", type=Path, help="write an overlay PNG here")
    parser.add_argument("--backend", default="auto", help="onnxruntime | tensorrt | auto")
    parser.add_argument("--labels", type=Path, help="class names, one per line (overrides metadata)")
    parser.add_argument("--score", type=float, default=0.25, help="score threshold")
    parser.add_argument("--iou", type=float, default=0.5, help="NMS IoU threshold")
    parser.add_argument("--agnostic", action="store_true", help="class-agnostic NMS")
    parser.add_argument("--max-det", type=int, default=100)


def run(args: argparse.Namespace) -> int:
    """Segment image files and write overlays."""
    import cv2

    from vis_ros.core.codecs.mask_runs import encode_runs
    from vis_ros.core.data.model_path import resolve_model
    from vis_ros.core.engine.decoder import DecoderConfig
    from vis_ros.core.engine.segmenter import Segmenter
    from vis_ros.core.outputs.overlay import draw_overlay

    bgr = cv2.imread(str(args.image), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {args.image} (missing, or not an image OpenCV can decode)")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    segmenter = Segmenter(resolve_model(args.model), backend=args.backend, labels_file=args.labels,
                          decoder=DecoderConfig(score_threshold=args.score, nms_iou=args.iou,
                                                class_agnostic_nms=args.agnostic,
                                                max_detections=args.max_det))
    result = segmenter(rgb)
    dets = result.detections
    print(f"{len(dets)} instances in {args.image} ({rgb.shape[1]}x{rgb.shape[0]}),"
          f" {segmenter.backend.describe()}, engine {result.timings_s['engine'] * 1000:.1f} ms")
    print(f"{'#':>3} {'class':<12} {'score':>6} {'x':>5} {'y':>5} {'w':>5} {'h':>5} {'pixels':>7}")
    for i, d in enumerate(dets):
        r = d.roi
        print(f"{i:>3} {d.class_name:<12} {d.score:6.3f} {r.x:5d} {r.y:5d} {r.width:5d} {r.height:5d}"
              f" {int(d.mask.sum()):7d}")
    if args.json:
        records = [{"class_id": d.class_id, "class_name": d.class_name, "score": d.score,
                    "box": list(d.box), "roi": [d.roi.x, d.roi.y, d.roi.width, d.roi.height],
                    "mask_runs": encode_runs(d.mask).tolist()} for d in dets]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"image": str(args.image), "height": rgb.shape[0],
                                         "width": rgb.shape[1], "instances": records}, indent=1))
    if args.overlay:
        picture = draw_overlay(rgb, [(d.roi, d.mask) for d in dets],
                               [f"{d.class_name} {d.score:.2f}" for d in dets],
                               [d.class_id + 1 for d in dets])
        args.overlay.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(args.overlay), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    return 0
