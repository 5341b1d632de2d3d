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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vis_ros.core.engine.model_spec import END_TO_END


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("model", help="ONNX model or TensorRT engine ('default': the embedded model)")
    parser.add_argument("--labels", type=Path, help="class names, one per line (as the node's labels_file)")
    parser.add_argument("--backend", default="auto", help="onnxruntime | tensorrt | auto (as the node's backend)")
    parser.add_argument("--image-size", default="640x480", help="camera image WIDTHxHEIGHT to time (default 640x480)")
    parser.add_argument("--runs", type=int, default=10, help="timed engine runs after 3 warm ones")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")


@dataclass(frozen=True)
class TensorInfo:
    """One input or output of the model: name, shape (a symbolic dimension as its name), dtype."""

    name: str
    shape: tuple
    dtype: str

    @classmethod
    def of(cls, info) -> TensorInfo:
        """Take a backend's tensor description."""
        return cls(info.name, tuple(d if isinstance(d, int) else str(d) for d in info.shape), info.dtype)


@dataclass(frozen=True)
class ModelCheck:
    """What check-model found: the model's I/O, whether the node accepts it and why not, what it is, its speed."""

    model: str
    backend: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    metadata: Mapping[str, str]
    accepted: bool
    reason: str = ""  # why the node refuses it
    layout: str = ""
    detections_per_image: int | str = 0  # anchors (raw head) or rows (end-to-end); "dynamic" where symbolic
    class_names: tuple[str, ...] = ()
    prototypes: tuple[int, int, int] = (0, 0, 0)  # count, height, width
    input_size: str = ""  # WxH
    input_dtype: str = ""
    dynamic_size: bool = False
    stride: int = 0
    batch: int | str = 1  # "dynamic" for a batch axis
    precision: str = ""
    timed_on: str = ""
    engine_ms_median: float = 0.0
    per_image_ms_median: float = 0.0

    @property
    def needs_nms(self) -> bool:
        """Whether the node runs NMS on it (a raw head) or takes its rows as they are (end-to-end)."""
        return self.layout != END_TO_END

    def to_json(self) -> dict:
        """Return the report as JSON values (what --json writes)."""
        report = {"model": self.model, "backend": self.backend,
                  "inputs": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype} for t in self.inputs],
                  "outputs": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype} for t in self.outputs],
                  "metadata": dict(self.metadata), "accepted": self.accepted}
        if not self.accepted:
            return {**report, "reason": self.reason}
        return {**report, "layout": self.layout, "needs_nms": self.needs_nms,
                ("anchors" if self.needs_nms else "rows_per_image"): self.detections_per_image,
                "classes": len(self.class_names), "class_names": list(self.class_names),
                "prototypes": list(self.prototypes),
                "input": {"size": self.input_size, "dtype": self.input_dtype, "dynamic_size": self.dynamic_size,
                          "stride": self.stride, "batch": self.batch},
                "precision": self.precision, "timed_on": self.timed_on, "engine_ms_median": self.engine_ms_median,
                "per_image_ms_median": self.per_image_ms_median}

    def lines(self) -> list[str]:
        """Return the report as the command prints it, a line each."""
        lines = [f"model     {self.model}", f"backend   {self.backend}"]
        for kind, tensors in (("input", self.inputs), ("output", self.outputs)):
            lines += [f"{kind:<9} {t.name} {list(t.shape)} {t.dtype}" for t in tensors]
        if not self.accepted:
            return lines + [f"accepted  no: {self.reason}"]
        names = self.class_names
        shown = ", ".join(names[:12]) + (f", ... ({len(names) - 12} more)" if len(names) > 12 else "")
        rows = (f"{self.detections_per_image} anchors, NMS in the node" if self.needs_nms
                else f"{self.detections_per_image} rows per image, no NMS")
        count, proto_h, proto_w = self.prototypes
        return lines + [
            f"layout    {self.layout}: {rows}", f"classes   {len(names)}: {shown}",
            f"protos    {count} at {proto_w}x{proto_h}",
            f"input     {self.input_size} {self.input_dtype}, batch {self.batch}"
            + (f", dynamic size (stride {self.stride})" if self.dynamic_size else ""),
            f"precision {self.precision}", "accepted  yes",
            f"speed     engine {self.engine_ms_median} ms, image {self.per_image_ms_median} ms (median;"
            f" {self.timed_on})"]


def check_model(model: str, backend: str = "auto", labels: Path | None = None, image_size: tuple[int, int] = (640, 480),
                runs: int = 10) -> ModelCheck:
    """Build the model as the node does at configure, and describe and time it; ModelCheck says the rest."""
    from vis_ros.core.config.factories import build_segmenter
    from vis_ros.core.config.settings import node_defaults
    from vis_ros.core.data.errors import ModelLayoutError
    from vis_ros.core.engine.backends import create_backend

    settings = node_defaults(model=model, backend=backend, labels_file=str(labels) if labels else "")
    try:
        segmenter = build_segmenter(settings)  # warmed up as at configure: the first outputs are checked too
    except ModelLayoutError as exc:
        found = create_backend(backend, Path(model))
        return ModelCheck(model, found.describe(), *_io(found), accepted=False, reason=" ".join(str(exc).split()))
    spec = segmenter.spec
    detections = next(o for o in segmenter.backend.outputs if o.name == spec.detections_name)
    count = detections.shape[1] if spec.layout == END_TO_END else detections.shape[2]
    width, height = image_size
    return ModelCheck(
        str(segmenter.model_path), segmenter.backend.describe(), *_io(segmenter.backend), accepted=True,
        layout=str(spec.layout), detections_per_image=count if isinstance(count, int) else "dynamic",
        class_names=tuple(spec.class_names), prototypes=(spec.num_prototypes, *spec.prototype_hw),
        input_size=f"{spec.input_hw[1]}x{spec.input_hw[0]}", input_dtype=spec.input_dtype,
        dynamic_size=spec.dynamic_hw, stride=spec.stride, batch="dynamic" if spec.batch is None else spec.batch,
        precision=segmenter.precision, **_time(segmenter, height, width, runs))


def run(args: argparse.Namespace) -> int:
    """Describe, check and time the model; 0 if the node accepts it, else 2."""
    from vis_ros.core.data.model_path import resolve_model

    size = _size(args.image_size)
    if args.runs < 1:
        raise ValueError(f"--runs must be >= 1, got {args.runs}")
    model = "" if args.model in ("", "default") else str(resolve_model(args.model))  # default: as the node picks
    report = check_model(model, args.backend, args.labels, size, args.runs)
    print("\n".join(report.lines()))
    if args.json is not None:
        from vis_ros.core.data.files import write_json

        write_json(args.json, report.to_json())
    return 0 if report.accepted else 2


def _io(backend) -> tuple:
    metadata = {k: v for k, v in backend.metadata.items() if k in _SHOWN_METADATA}
    return (tuple(TensorInfo.of(t) for t in backend.inputs), tuple(TensorInfo.of(t) for t in backend.outputs),
            metadata)


_SHOWN_METADATA = ("task", "imgsz", "stride", "end2end", "max_det", "batch", "half", "args", "vis_ros_precision")


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--image-size must be WIDTHxHEIGHT like 640x480, got {text!r}") from None
    if width < 1 or height < 1:
        raise ValueError(f"--image-size must be positive, got {text!r}")
    return width, height


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
