"""What the decoder needs to know about a YOLO-seg model, checked once at load.

The layout is the Ultralytics YOLOv8/YOLO11-seg export:
  input  `images`  [N, 3, H, W] float RGB 0..1, letterboxed
  output0          [N, 4 + nc + nm, A]  cx, cy, w, h (input px), nc class scores, nm coefficients
  output1          [N, nm, H/4, W/4]    mask prototypes
  metadata         names (dict repr), stride, imgsz, task = segment
Outputs are told apart by rank, not by name, since other exporters rename them.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from vis_ros.core.engine.errors import ModelLayoutError


@dataclass(frozen=True)
class TensorInfo:
    """One model input or output as the backend reports it."""

    name: str
    shape: tuple  # ints, or None/str for dynamic dimensions
    dtype: str  # numpy dtype name


@dataclass(frozen=True)
class ModelSpec:
    """What the decoder needs to know of a YOLO-seg model, checked once at load."""

    input_name: str
    input_hw: tuple[int, int]
    input_dtype: str
    detections_name: str
    prototypes_name: str
    class_names: tuple[str, ...]
    num_prototypes: int
    prototype_hw: tuple[int, int]
    batch: int | None = 1  # the input's fixed batch size; None: a dynamic batch axis (any size)

    @property
    def num_classes(self) -> int:
        """Number of classes the model scores."""
        return len(self.class_names)


def _parse_names(raw: str) -> list[str]:
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError) as exc:
        raise ModelLayoutError(f"model metadata 'names' is not a dict or list literal: {raw[:80]!r}") from exc
    if isinstance(value, dict):
        keys = sorted(value)
        if keys != list(range(len(keys))):
            raise ModelLayoutError(f"model metadata 'names' keys must be 0..n-1, got {keys[:10]}")
        return [str(value[k]) for k in keys]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    raise ModelLayoutError(f"model metadata 'names' must be a dict or list, got {type(value).__name__}")


def read_labels_file(path: Path) -> list[str]:
    """One class name per line (blank lines and '#' comments ignored)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labels file {path} not found")
    names = [line.strip() for line in path.read_text().splitlines()]
    return [n for n in names if n and not n.startswith("#")]


def _static(dim, what: str) -> int:
    if not isinstance(dim, int) or dim <= 0:
        raise ModelLayoutError(f"{what} has dynamic size {dim!r}; export the model with a fixed imgsz")
    return dim


def build_spec(inputs: list[TensorInfo], outputs: list[TensorInfo], metadata: dict[str, str],
               labels: list[str] | None = None) -> ModelSpec:
    """Validate a model's I/O against the YOLO-seg layout; raise ModelLayoutError naming what is off."""
    if len(inputs) != 1:
        raise ModelLayoutError(f"model has {len(inputs)} inputs {[i.name for i in inputs]}; expected 1 image input")
    image = inputs[0]
    if len(image.shape) != 4:
        raise ModelLayoutError(f"input '{image.name}' has rank {len(image.shape)} {image.shape};"
                               " expected [N, 3, H, W]")
    if image.shape[1] != 3:
        raise ModelLayoutError(f"input '{image.name}' has {image.shape[1]} channels; expected 3 (RGB)")
    if len(outputs) != 2:
        hint = " Is it a detection-only export? vis_ros needs a -seg model." if len(outputs) == 1 else ""
        raise ModelLayoutError(f"model has {len(outputs)} outputs {[o.name for o in outputs]};"
                               f" a YOLO-seg model has 2 (detections [N, 4+nc+nm, A], prototypes"
                               f" [N, nm, H/4, W/4]).{hint}")
    by_rank = {len(o.shape): o for o in outputs}
    if set(by_rank) != {3, 4}:
        raise ModelLayoutError(f"output ranks are {[len(o.shape) for o in outputs]}; expected one rank-3"
                               " detection tensor and one rank-4 prototype tensor")
    detections, prototypes = by_rank[3], by_rank[4]
    num_protos = _static(prototypes.shape[1], f"prototype output '{prototypes.name}' channel dimension")
    height = image.shape[2] if isinstance(image.shape[2], int) else None
    width = image.shape[3] if isinstance(image.shape[3], int) else None
    if (height is None or width is None) and "imgsz" in metadata:
        imgsz = ast.literal_eval(metadata["imgsz"])
        height, width = (imgsz, imgsz) if isinstance(imgsz, int) else tuple(imgsz)
    if height is None or width is None:
        raise ModelLayoutError(f"input '{image.name}' has dynamic size {image.shape} and the model has"
                               " no 'imgsz' metadata; export with a fixed imgsz")
    if labels is not None:
        names = list(labels)
    elif "names" in metadata:
        names = _parse_names(metadata["names"])
    else:
        raise ModelLayoutError("model has no 'names' metadata (class names); pass a labels file")
    channels = detections.shape[1]
    if isinstance(channels, int) and channels != 4 + len(names) + num_protos:
        raise ModelLayoutError(
            f"detection output '{detections.name}' has {channels} channels but 4 + {len(names)} classes"
            f" + {num_protos} coefficients = {4 + len(names) + num_protos}; the class list does not"
            " match the model")
    task = metadata.get("task")
    if task is not None and task != "segment":
        raise ModelLayoutError(f"model metadata task is {task!r}; vis_ros needs a 'segment' model")
    proto_hw = (prototypes.shape[2], prototypes.shape[3])
    if all(isinstance(v, int) for v in proto_hw) and proto_hw != (height // 4, width // 4):
        raise ModelLayoutError(f"prototypes are {proto_hw[0]}x{proto_hw[1]}; expected input/4 ="
                               f" {height // 4}x{width // 4}")
    return ModelSpec(
        input_name=image.name, input_hw=(int(height), int(width)), input_dtype=image.dtype,
        detections_name=detections.name, prototypes_name=prototypes.name,
        class_names=tuple(names), num_prototypes=num_protos,
        prototype_hw=(int(height) // 4, int(width) // 4),
        batch=image.shape[0] if isinstance(image.shape[0], int) and image.shape[0] > 0 else None,
    )
