"""Which model file runs, and at which precision: the node's `precision` parameter.

With `model` empty the node runs an embedded model: FP32, or its INT8 copy
(`vis-ros quantize`, measured accuracy in models/README.md). `auto` takes
INT8 when the engine runs on a CPU with int8 multiply-add instructions that
ONNX Runtime's integer kernels use (x86 AVX2, VNNI or AMX; Arm dot product),
and FP32 elsewhere (on a GPU too). AVX2 alone is enough: without VNNI the
INT8 engine still ran 1.38-1.50x faster than FP32 on an AVX2-only CPU, with
the accuracy bars met there too (models/README.md); on older CPUs it is not
measured, so they keep FP32. A model file
given by the user runs as it is; asking for a precision it does not have is
refused at configure, saying how to make one that does.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vis_ros.core.data.model_path import default_model_path, share_file

PRECISIONS = ("auto", "fp32", "int8")
DEFAULT_INT8_MODEL_NAME = "vis_ros_default_int8.onnx"
INT8_CPU_FLAGS = ("avx2", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp")


@dataclass(frozen=True)
class ModelChoice:
    """The model file to load, the precision it runs at, and why (for the node's log)."""

    path: Path
    precision: str
    reason: str


def cpu_int8_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[str, ...]:
    """Return the int8 multiply-add features this CPU reports (empty where unknown)."""
    try:
        words = set(cpuinfo.read_text().split())
    except OSError:
        return ()
    return tuple(flag for flag in INT8_CPU_FLAGS if flag in words)


def choose_model(model: str, precision: str, int8_flags: tuple[str, ...] | None = None,
                 on_cpu: bool = True) -> ModelChoice:
    """Resolve `model` (empty: embedded) and `precision`; ValueError saying why a pair cannot run.

    `on_cpu`: whether the engine runs on the CPU; `auto` keeps FP32 on a GPU,
    where the INT8 CPU model is not what pays.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    if model in ("", "default"):
        if precision == "auto" and not on_cpu:
            return ModelChoice(default_model_path(), "fp32", "auto: the engine runs on a GPU")
        return _embedded(precision, cpu_int8_flags() if int8_flags is None else int8_flags)
    path = Path(model).expanduser()
    if path.suffix != ".onnx" or not path.is_file():  # engines carry their own precision; missing: said at load
        return ModelChoice(path, "as built" if path.suffix != ".onnx" else "unknown", "the given model file")

    try:
        actual = model_precision(path)
    except Exception:  # not a readable ONNX file: the backend's load error says why, with the file's name
        return ModelChoice(path, "unknown", "the given model file")
    if precision not in ("auto", actual):
        hint = (f"; make one with `vis-ros quantize --onnx {path} --out {path.with_name(path.stem + '_int8.onnx')}"
                " --images <folder>`" if precision == "int8" else "")
        raise ValueError(f"precision {precision} asked for, but model {path} is {actual}{hint}")
    return ModelChoice(path, actual, "the given model file")


def _embedded(precision: str, flags: tuple[str, ...]) -> ModelChoice:
    if precision == "fp32" or (precision == "auto" and not flags):
        reason = "asked for" if precision == "fp32" else f"auto: none of {', '.join(INT8_CPU_FLAGS)} on this CPU"
        return ModelChoice(default_model_path(), "fp32", reason)
    try:
        path = share_file("models", DEFAULT_INT8_MODEL_NAME)
    except FileNotFoundError as exc:
        if precision == "int8":
            raise ValueError(f"precision int8: {exc}") from None
        return ModelChoice(default_model_path(), "fp32", "auto: the embedded INT8 model is not installed")
    reason = "asked for" if precision == "int8" else f"auto: this CPU has {', '.join(flags)}"
    return ModelChoice(path, "int8", reason)


def model_precision(path: Path) -> str:
    """Return "int8" for a model with quantized nodes, else its input's float type ("fp32", "fp16")."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    if any(n.op_type in ("QuantizeLinear", "QLinearConv", "ConvInteger", "MatMulInteger") for n in model.graph.node):
        return "int8"
    elem = model.graph.input[0].type.tensor_type.elem_type
    return "fp16" if elem == onnx.TensorProto.FLOAT16 else "fp32"
