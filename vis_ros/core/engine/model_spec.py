"""What the decoder needs to know about a YOLO-seg model, checked once at load.

Two layouts of the Ultralytics YOLO-seg export are read:
  input  `images`  [N, 3, H, W] float RGB 0..1, letterboxed
  output0, raw head       [N, 4 + nc + nm, A]  cx, cy, w, h (input px), nc class scores, nm coefficients
                          (YOLOv8 / YOLO11-seg; needs NMS)
  output0, end-to-end     [N, K, 6 + nm]  rows x1, y1, x2, y2 (input px), score, class index, nm
                          coefficients, sorted by score with low-score padding; no NMS to run
                          (YOLO26 / YOLOE default export, YOLO11 `nms=True`)
  output1                 [N, nm, H/4, W/4]    mask prototypes
  metadata                names (dict repr), stride, imgsz, task = segment, end2end
Outputs are told apart by rank, not by name, since other exporters rename them;
the layout by the shapes and the `end2end` metadata, and where the shapes are
symbolic (a `dynamic=True` export), by the first real output.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from vis_ros.core.data.errors import ModelLayoutError


class Layout(StrEnum):
    """How a model's detections output is laid out."""

    RAW_HEAD = "raw head"  # [N, 4 + classes + mask coefficients, anchors]: scores per class, NMS to do
    END_TO_END = "end-to-end"  # [N, K, 6 + mask coefficients]: rows already selected (YOLO26, nms=True)


RAW_HEAD, END_TO_END = Layout.RAW_HEAD, Layout.END_TO_END


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
    layout: Layout | None = RAW_HEAD  # None: symbolic output shapes, decided by the first real output
    stride: int = 32  # the largest stride of the head: a dynamic input's sides are multiples of it
    dynamic_hw: bool = False  # input height and width are free: letterbox to the image, not to input_hw

    @property
    def num_classes(self) -> int:
        """Number of classes the model scores."""
        return len(self.class_names)

    def expected(self, layout: str | None = None) -> str:
        """Say what one image's detection output looks like in a layout (for error messages)."""
        layout = layout or self.layout
        if layout == END_TO_END:
            return f"end-to-end rows [K, 6 + {self.num_prototypes} coefficients = {6 + self.num_prototypes}]"
        return (f"raw head [4 + {self.num_classes} classes + {self.num_prototypes} coefficients ="
                f" {4 + self.num_classes + self.num_prototypes}, anchors]")

    def check_outputs(self, detections_shape: tuple, prototypes_shape: tuple, input_hw: tuple[int, int]) -> str:
        """Return the layout one image's outputs have; ModelLayoutError naming the shapes if none fits.

        Run on every engine call (it is a few comparisons): a model whose
        shapes are only known at run time is refused, never misdecoded.
        """
        nm = self.num_prototypes
        proto_expected = (nm, input_hw[0] // 4, input_hw[1] // 4)
        if tuple(prototypes_shape) != proto_expected:
            raise ModelLayoutError(f"prototype output '{self.prototypes_name}' is {list(prototypes_shape)} per image"
                                   f" for a {input_hw[1]}x{input_hw[0]} input; expected {list(proto_expected)}")
        fits = _layouts_fitting(tuple(detections_shape), self.num_classes, nm)
        if self.layout in fits or (self.layout is None and len(fits) == 1):
            return self.layout or fits[0]
        wanted = self.expected() if self.layout else f"{self.expected(RAW_HEAD)} or {self.expected(END_TO_END)}"
        raise ModelLayoutError(f"detection output '{self.detections_name}' is {list(detections_shape)} per image;"
                               f" expected {wanted}. The class list ({self.num_classes} names) or the export"
                               " does not match the model")


def _layouts_fitting(shape: tuple, num_classes: int, num_protos: int) -> list[str]:
    """Return the layouts a per-image detection shape (ints or symbols) can be."""
    if len(shape) != 2:
        return []
    rows, columns = shape
    fits = []
    if not isinstance(rows, int) or rows == 4 + num_classes + num_protos:
        fits.append(RAW_HEAD)
    if not isinstance(columns, int) or columns == 6 + num_protos:
        fits.append(END_TO_END)
    return fits


def _declared_end_to_end(metadata: dict[str, str]) -> bool:
    """Whether the export says its head is end-to-end (`end2end`, or an `nms=True` export's args)."""
    if str(metadata.get("end2end", "")).strip().lower() in ("true", "1"):
        return True
    try:
        args = ast.literal_eval(metadata.get("args", "{}"))
    except (ValueError, SyntaxError):
        return False
    return isinstance(args, dict) and bool(args.get("nms"))


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
                               f" a YOLO-seg model has 2 (detections [N, 4+nc+nm, A] or [N, K, 6+nm],"
                               f" prototypes [N, nm, H/4, W/4]).{hint}")
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
    task = metadata.get("task")
    if task is not None and task != "segment":
        raise ModelLayoutError(f"model metadata task is {task!r}; vis_ros needs a 'segment' model")
    layout = _layout(detections, names, num_protos, metadata)
    dynamic_hw = not (isinstance(image.shape[2], int) and isinstance(image.shape[3], int))
    proto_hw = (prototypes.shape[2], prototypes.shape[3])
    if not dynamic_hw and all(isinstance(v, int) for v in proto_hw) and proto_hw != (height // 4, width // 4):
        raise ModelLayoutError(f"prototypes are {proto_hw[0]}x{proto_hw[1]}; expected input/4 ="
                               f" {height // 4}x{width // 4}")
    stride = int(metadata.get("stride", "32")) if str(metadata.get("stride", "32")).isdigit() else 32
    return ModelSpec(
        input_name=image.name, input_hw=(int(height), int(width)), input_dtype=image.dtype,
        detections_name=detections.name, prototypes_name=prototypes.name,
        class_names=tuple(names), num_prototypes=num_protos,
        prototype_hw=(int(height) // 4, int(width) // 4),
        batch=image.shape[0] if isinstance(image.shape[0], int) and image.shape[0] > 0 else None,
        layout=layout, stride=stride, dynamic_hw=dynamic_hw,
    )


def _layout(detections: TensorInfo, names: list[str], num_protos: int, metadata: dict[str, str]) -> str | None:
    """Return the detection output's layout from its shape and the metadata (None: known at run time)."""
    nc = len(names)
    shape = tuple(detections.shape[1:])
    fits = _layouts_fitting(shape, nc, num_protos)
    declared = _declared_end_to_end(metadata)
    if declared and END_TO_END in fits:
        return END_TO_END
    if not declared and RAW_HEAD in fits and isinstance(shape[0], int):
        return RAW_HEAD  # channels match the class list: the raw head, whatever the anchor count
    if len(fits) == 1:
        return fits[0]
    if len(fits) == 2:
        return None  # symbolic on both axes: the first real output decides
    said = " (its metadata says end2end)" if declared else ""
    raise ModelLayoutError(
        f"detection output '{detections.name}' is {list(detections.shape)}{said}: neither the raw head"
        f" [N, 4 + {nc} classes + {num_protos} coefficients = {4 + nc + num_protos}, anchors] nor end-to-end rows"
        f" [N, K, 6 + {num_protos} coefficients = {6 + num_protos}]; the class list does not match the model"
        " or the export is of another kind")
