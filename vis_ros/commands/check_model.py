"""Check a model before giving it to the node: what it is, whether the node accepts it, how fast it runs here.

Prints the layout found (raw head, which needs NMS, or end-to-end rows), the
classes, prototypes, input size and dtype, batch axis and precision, then
builds the model exactly as the node does at configure (the same backend
choice, checks and warm-up) and times the engine on a camera-sized image.
Exit 0 when the node accepts the model, 2 with the reason when it does not.

    vis-ros check-model yolo26n-seg.onnx
    vis-ros check-model yolo11n-seg.engine --image-size 1280x720
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("model", help="ONNX model or TensorRT engine ('default': the embedded model)")
    parser.add_argument("--labels", type=Path, help="class names, one per line (as the node's labels_file)")
    parser.add_argument("--backend", default="auto", help="onnxruntime | tensorrt | auto (as the node's backend)")
    parser.add_argument("--image-size", default="640x480", help="camera image WIDTHxHEIGHT to time (default 640x480)")
    parser.add_argument("--runs", type=int, default=10, help="timed engine runs after 3 warm ones")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")


def run(args: argparse.Namespace) -> int:
    """Describe, check and time the model; 0 if the node accepts it, else 2."""
    from vis_ros.core.config.settings import node_defaults
    from vis_ros.core.data.errors import ModelLayoutError
    from vis_ros.core.data.model_path import resolve_model
    from vis_ros.core.engine.backends import create_backend

    width, height = _size(args.image_size)
    if args.runs < 1:
        raise ValueError(f"--runs must be >= 1, got {args.runs}")
    model = "" if args.model in ("", "default") else str(resolve_model(args.model))  # default: as the node picks
    settings = node_defaults(model=model, backend=args.backend, labels_file=str(args.labels) if args.labels else "")
    try:
        segmenter = _build(settings)
    except ModelLayoutError as exc:
        backend = create_backend(args.backend, Path(model))
        report = {**_io(model, backend), "accepted": False, "reason": " ".join(str(exc).split())}
        code = 2
    else:
        report = {**_io(str(segmenter.model_path), segmenter.backend), "accepted": True, **_describe(segmenter),
                  **_time(segmenter, height, width, args.runs)}
        code = 0
    _print(report)
    _write(args.json, report)
    return code


def _io(model: str, backend) -> dict:
    return {"model": model, "backend": backend.describe(),
            "inputs": [_tensor(t) for t in backend.inputs], "outputs": [_tensor(t) for t in backend.outputs],
            "metadata": {k: v for k, v in backend.metadata.items() if k in _SHOWN_METADATA}}


_SHOWN_METADATA = ("task", "imgsz", "stride", "end2end", "max_det", "batch", "half", "args", "vis_ros_precision")


def _build(settings):
    from vis_ros.core.config.factories import build_segmenter

    segmenter = build_segmenter(settings)  # warmed up as the node's configure: the first outputs are checked too
    return segmenter


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--image-size must be WIDTHxHEIGHT like 640x480, got {text!r}") from None
    if width < 1 or height < 1:
        raise ValueError(f"--image-size must be positive, got {text!r}")
    return width, height


def _tensor(info) -> dict:
    return {"name": info.name, "shape": [d if isinstance(d, int) else str(d) for d in info.shape],
            "dtype": info.dtype}


def _describe(segmenter) -> dict:
    from vis_ros.core.engine.model_spec import END_TO_END

    spec = segmenter.spec
    detections = next(o for o in segmenter.backend.outputs if o.name == spec.detections_name)
    count = detections.shape[1] if spec.layout == END_TO_END else detections.shape[2]
    return {
        "layout": spec.layout,
        "needs_nms": spec.layout != END_TO_END,
        ("rows_per_image" if spec.layout == END_TO_END else "anchors"): count if isinstance(count, int) else "dynamic",
        "classes": len(spec.class_names), "class_names": list(spec.class_names),
        "prototypes": [spec.num_prototypes, *spec.prototype_hw],
        "input": {"size": f"{spec.input_hw[1]}x{spec.input_hw[0]}", "dtype": spec.input_dtype,
                  "dynamic_size": spec.dynamic_hw, "stride": spec.stride,
                  "batch": "dynamic" if spec.batch is None else spec.batch},
        "precision": segmenter.precision,
    }


def _time(segmenter, height: int, width: int, runs: int) -> dict:
    import numpy as np

    image = np.random.default_rng(0).integers(0, 255, (height, width, 3), np.uint8)
    for _ in range(3):
        segmenter(image)
    engine_ms, total_ms = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = segmenter(image)
        total_ms.append((time.perf_counter() - t0) * 1e3)
        engine_ms.append(result.timings_s["engine"] * 1e3)
    letterbox = segmenter.preprocess.letterbox_for(height, width)
    return {"timed_on": f"{width}x{height} image -> {letterbox.input_width}x{letterbox.input_height} input,"
                        f" {runs} runs",
            "engine_ms_median": round(statistics.median(engine_ms), 2),
            "per_image_ms_median": round(statistics.median(total_ms), 2)}


def _print(report: dict) -> None:
    print(f"model     {report['model']}")
    print(f"backend   {report['backend']}")
    for kind in ("inputs", "outputs"):
        for t in report[kind]:
            print(f"{kind[:-1]:<9} {t['name']} {t['shape']} {t['dtype']}")
    if not report["accepted"]:
        print(f"accepted  no: {report['reason']}")
        return
    names = report["class_names"]
    shown = ", ".join(names[:12]) + (f", ... ({len(names) - 12} more)" if len(names) > 12 else "")
    rows = (f"{report['rows_per_image']} rows per image, no NMS" if "rows_per_image" in report
            else f"{report['anchors']} anchors, NMS in the node")
    size = report["input"]
    print(f"layout    {report['layout']}: {rows}")
    print(f"classes   {report['classes']}: {shown}")
    print(f"protos    {report['prototypes'][0]} at {report['prototypes'][2]}x{report['prototypes'][1]}")
    print(f"input     {size['size']} {size['dtype']}, batch {size['batch']}"
          + (f", dynamic size (stride {size['stride']})" if size["dynamic_size"] else ""))
    print(f"precision {report['precision']}")
    print("accepted  yes")
    print(f"speed     engine {report['engine_ms_median']} ms, image {report['per_image_ms_median']} ms"
          f" (median; {report['timed_on']})")


def _write(path: Path | None, report: dict) -> None:
    if path is not None:
        from vis_ros.core.data.files import write_json

        write_json(path, report)
