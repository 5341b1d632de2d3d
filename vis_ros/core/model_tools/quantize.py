"""INT8 YOLO-seg models for the CPU: ONNX Runtime static quantization, calibrated.

Weights per channel (int8 holding 7-bit values), activations per tensor
(uint8, the layout of ONNX Runtime's u8 x s8 kernels), QDQ format, min-max
calibration on images pre-processed exactly as at inference
(core/model_tools/calibration.py).

Why 7-bit weights (`reduce_range`): on x86 CPUs without VNNI, ONNX Runtime
multiplies with AVX2's vpmaddubsw, which adds two u8 x s8 products in 16
bits and saturates past 32,767; with full 8-bit weights that happened on
every frame, and class scores moved by up to 0.17 against the same graph
computed exactly (VNNI and AMX accumulate in 32 bits and do not saturate),
enough to flip a ball to a toy. With |w| <= 64 no pair can saturate, so the
fused kernels compute the exact graph, within rounding, whichever int8
instructions the CPU has (models/README.md).

What stays in float was chosen by measured accuracy (models/README.md): the
detection head's decode tail, i.e. every node between the last convolutions
and the detections output (reshapes, box distances, class sigmoids, the
final concat). Quantized as a whole, that concat puts box coordinates (up to
the input size), class scores (0..1) and mask coefficients on one uint8
scale, and class scores lose most of their resolution: mask mAP50-95 fell
from 0.805 to 0.687. Keeping the tail in float costs nothing measurable and
gives 0.804. Everything else, prototypes included, runs in int8.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vis_ros.core.data.files import replaced_when_done
from vis_ros.core.model_tools.calibration import ImageSource, calibration_tensors

PRECISION_KEY = "vis_ros_precision"  # model metadata: "int8" for models made here


@dataclass(frozen=True)
class QuantizeReport:
    """What `quantize_model` made: output path, calibration images used and skipped, float nodes."""

    out: Path
    calibration_images: int
    skipped_images: int
    float_nodes: tuple[str, ...]
    source: str


def decode_tail(model, detections_output: str) -> list[str]:
    """Return the nodes between the last convolutions and `detections_output` (kept in float)."""
    producers = {out: node for node in model.graph.node for out in node.output}
    tail, stack = [], [detections_output]
    seen = set()
    while stack:
        node = producers.get(stack.pop())
        if node is None or node.name in seen or node.op_type == "Conv":
            continue
        seen.add(node.name)
        if node.op_type != "Constant":
            tail.append(node.name)
        stack.extend(node.input)
    return sorted(tail)


class _Reader:
    """ONNX Runtime's CalibrationDataReader protocol over the calibration tensors."""

    def __init__(self, input_name: str, tensors: Iterator[np.ndarray], progress: Callable[[], None] | None):
        self.input_name, self._tensors, self._progress = input_name, tensors, progress
        self.count = 0

    def get_next(self):
        tensor = next(self._tensors, None)
        if tensor is None:
            return None
        self.count += 1
        if self._progress:
            self._progress()
        return {self.input_name: tensor}


def quantize_model(onnx_in: Path, onnx_out: Path, source: ImageSource,
                   progress: Callable[[], None] | None = None) -> QuantizeReport:
    """Write an INT8 copy of the YOLO-seg model `onnx_in` to `onnx_out`, calibrated on `source`.

    The model is checked first as the node checks it (ModelLayoutError names
    what is off), and so is the result. Refused before any calibration: an
    output that is the input, an input already quantized, an output that
    cannot be written. The copy is written under a temporary name beside
    `onnx_out` and renamed when complete: a failure leaves nothing there.
    """
    import onnx

    from vis_ros.core.engine.backends import create_backend
    from vis_ros.core.engine.model_spec import build_spec
    from vis_ros.core.engine.precision import model_precision

    onnx_in, onnx_out = Path(onnx_in), Path(onnx_out)
    _check_output(onnx_in, onnx_out)
    backend = create_backend("onnxruntime", onnx_in, providers=["CPUExecutionProvider"])
    spec = build_spec(backend.inputs, backend.outputs, backend.metadata)
    if model_precision(onnx_in) == "int8":
        raise ValueError(f"{onnx_in} is already quantized (int8); quantize its FP32 original")
    with replaced_when_done(onnx_out) as partial:
        reader, float_nodes = _quantize(onnx_in, partial, spec, source, progress)
        quantized = onnx.load(str(partial))
        metadata = dict(backend.metadata)
        metadata.update({PRECISION_KEY: "int8", "vis_ros_calibration": f"{reader.count} images: {source.describe()}"})
        del quantized.metadata_props[:]
        for key, value in metadata.items():
            quantized.metadata_props.add(key=key, value=str(value))
        onnx.save(quantized, str(partial))
        check = create_backend("onnxruntime", partial, providers=["CPUExecutionProvider"])
        build_spec(check.inputs, check.outputs, check.metadata)
    return QuantizeReport(onnx_out, reader.count, source.skipped, tuple(float_nodes), source.describe())


def _check_output(onnx_in: Path, onnx_out: Path) -> None:
    """Refuse an output that would replace the input or cannot be written, before the calibration starts."""
    if not onnx_in.is_file():
        raise FileNotFoundError(f"model {onnx_in} does not exist")
    if onnx_out.resolve() == onnx_in.resolve():
        raise ValueError(f"--out {onnx_out} is the input model: quantize writes a new file and never replaces its"
                         " input")
    folder = onnx_out.parent
    if not folder.is_dir():
        raise NotADirectoryError(f"cannot write {onnx_out}: {folder} is not a folder")
    if not os.access(folder, os.W_OK) or (onnx_out.exists() and not os.access(onnx_out, os.W_OK)):
        raise PermissionError(f"cannot write {onnx_out}: permission denied")


def _quantize(onnx_in: Path, onnx_out: Path, spec, source: ImageSource, progress):
    """Quantize with ONNX Runtime (QDQ, min-max, 7-bit weights, the decode tail in float) into `onnx_out`."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from vis_ros.core.model_tools.batch_axis import BATCH_AXIS, has_dynamic_batch, set_io_batch

    with tempfile.TemporaryDirectory(prefix="vis_ros_quantize_") as tmp:
        prepared, pinned = Path(tmp) / "prepared.onnx", Path(tmp) / "pinned.onnx"
        original = onnx.load(str(onnx_in))
        dynamic = has_dynamic_batch(original)
        onnx.save(set_io_batch(original, 1) if dynamic else original, str(pinned))
        quant_pre_process(str(pinned), str(prepared))
        model = onnx.load(str(prepared))
        for i, node in enumerate(model.graph.node):  # exclusion works by name
            node.name = node.name or f"vis_ros_node_{i}"
        onnx.save(model, str(prepared))
        float_nodes = decode_tail(model, spec.detections_name)
        reader = _Reader(spec.input_name, calibration_tensors(source, spec.input_hw), progress)
        quantize_static(str(prepared), str(onnx_out), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=float_nodes,
                        reduce_range=True)
    if dynamic:
        quantized = onnx.load(str(onnx_out))
        set_io_batch(quantized, BATCH_AXIS)
        onnx.save(quantized, str(onnx_out))
    return reader, float_nodes
