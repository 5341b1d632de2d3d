"""ONNX Runtime backend.

Execution providers default to the best installed, in the order TensorRT EP
(fp16, engine cache) -> CUDA EP -> CPU EP; pass `providers` to override.
Outputs are bound to host buffers allocated once (I/O binding), so a frame
costs no output allocation when the model's shapes are static.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vis_ros.core.data.errors import ModelLoadError
from vis_ros.core.engine.model_spec import TensorInfo

PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
_ORT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
              "tensor(uint8)": "uint8", "tensor(int64)": "int64", "tensor(int32)": "int32"}


def default_providers(available: list[str], engine_cache: Path | None, fp16: bool):
    """Choose execution providers: TensorRT and CUDA where installed, then CPU."""
    chosen = []
    for name in PREFERRED_PROVIDERS:
        if name not in available:
            continue
        if name == "TensorrtExecutionProvider":
            options = {"trt_fp16_enable": fp16}
            if engine_cache is not None:
                options.update(trt_engine_cache_enable=True, trt_engine_cache_path=str(engine_cache))
            chosen.append((name, options))
        else:
            chosen.append(name)
    return chosen


class OnnxRuntimeBackend:
    """An ONNX Runtime session with its inputs, outputs and metadata read once."""

    name = "onnxruntime"

    def __init__(self, path, providers: list | None = None, intra_op_threads: int = 0,
                 inter_op_threads: int = 0, fp16: bool = True, engine_cache: Path | None = None):
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f"model file {path} does not exist")
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(intra_op_threads)
        options.inter_op_num_threads = int(inter_op_threads)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        available = ort.get_available_providers()
        if providers is None:
            providers = default_providers(available, engine_cache, fp16)
        else:
            missing = [p if isinstance(p, str) else p[0] for p in providers]
            missing = [p for p in missing if p not in available]
            if missing:
                raise ModelLoadError(f"execution providers {missing} are not installed; available: {available}")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # ORT raises its own types for bad protobufs, ops, shapes
            raise ModelLoadError(f"ONNX Runtime cannot load {path}: {exc}".strip()) from exc
        self.providers = self.session.get_providers()
        self.inputs = [TensorInfo(i.name, tuple(i.shape), _ORT_TYPES.get(i.type, i.type))
                       for i in self.session.get_inputs()]
        self.outputs = [TensorInfo(o.name, tuple(o.shape), _ORT_TYPES.get(o.type, o.type))
                        for o in self.session.get_outputs()]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        # One I/O binding per batch size seen, where every output dimension but the
        # batch is static (a dynamic-batch model serves several cameras per call).
        self._bindable = self.providers[0] == "CPUExecutionProvider" and \
            all(isinstance(d, int) for o in self.outputs for d in o.shape[1:])
        self._bindings: dict[int, tuple] = {}

    def _binding_for(self, batch_size: int):
        if batch_size not in self._bindings:
            binding, buffers = self.session.io_binding(), {}
            for o in self.outputs:
                fixed = o.shape[0] if isinstance(o.shape[0], int) and o.shape[0] > 0 else batch_size
                buffer = buffers[o.name] = np.empty((fixed, *o.shape[1:]), np.dtype(o.dtype))
                binding.bind_output(o.name, "cpu", 0, buffer.dtype, buffer.shape, buffer.ctypes.data)
            self._bindings[batch_size] = (binding, buffers)
        return self._bindings[batch_size]

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run one batch; outputs by name (with I/O binding, views of reused buffers)."""
        if not self._bindable:
            values = self.session.run(None, {self.inputs[0].name: batch})
            return {o.name: v for o, v in zip(self.outputs, values, strict=True)}
        binding, buffers = self._binding_for(batch.shape[0])
        binding.bind_cpu_input(self.inputs[0].name, batch)
        self.session.run_with_iobinding(binding)
        return buffers

    def describe(self) -> str:
        """Name ONNX Runtime and the provider that runs the model."""
        return f"onnxruntime {self.providers[0]}"
