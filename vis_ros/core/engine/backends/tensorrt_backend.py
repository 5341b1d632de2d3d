"""TensorRT backend for .engine / .plan files, on the TensorRT 10 tensor API.

The engine is deserialised once; I/O tensors are found by name through
`num_io_tensors` / `get_tensor_name` / `get_tensor_mode`, every input shape
is set with `set_input_shape`, every tensor gets a device address with
`set_tensor_address`, and `execute_async_v3` runs on one CUDA stream. Input
goes through a pinned host buffer; outputs come back into pinned host
buffers allocated once. Errors name the file and the cause: missing,
corrupt, built for another TensorRT version or GPU, or I/O that is not the
YOLO-seg head.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vis_ros.core.engine.backends.engine_file import EngineKey, check_key, read_engine
from vis_ros.core.engine.errors import ModelLayoutError, ModelLoadError
from vis_ros.core.engine.model_spec import TensorInfo


def import_tensorrt():
    """Import tensorrt, or raise a ModelLoadError saying what to install."""
    try:
        import tensorrt
    except ImportError as exc:
        raise ModelLoadError("the tensorrt backend needs the `tensorrt` Python package (TensorRT 10);"
                             " install it with JetPack / the NVIDIA wheels, or use backend"
                             " 'onnxruntime'") from exc
    major = int(str(tensorrt.__version__).split(".")[0])
    if major < 10:
        raise ModelLoadError(f"TensorRT {tensorrt.__version__} found; the tensorrt backend needs 10+")
    return tensorrt


def _collecting_logger(trt):
    """Make a TensorRT logger that also keeps errors, so load failures can quote them."""

    class Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity, msg):
            if severity in (trt.ILogger.Severity.ERROR, trt.ILogger.Severity.INTERNAL_ERROR):
                self.errors.append(str(msg))

    return Logger()


class TensorRTBackend:
    """A deserialized TensorRT engine with device and pinned host buffers bound once."""

    name = "tensorrt"

    def __init__(self, path, memory=None, trt_module=None, **_ignored):
        trt = trt_module or import_tensorrt()
        self._trt = trt
        path = Path(path)
        metadata, plan = read_engine(path)
        if memory is None:
            from vis_ros.core.engine.backends.cuda_memory import TorchCudaMemory

            memory = TorchCudaMemory()
        self.memory = memory
        current = EngineKey(memory.device_name(), memory.compute_capability(), str(trt.__version__),
                            False, False, 0, 0, "")
        check_key(metadata, current, path)
        self._logger = _collecting_logger(trt)
        runtime = trt.Runtime(self._logger)
        engine = runtime.deserialize_cuda_engine(plan)
        if engine is None:
            detail = "; ".join(self._logger.errors) or "no detail from TensorRT"
            raise ModelLoadError(f"TensorRT {trt.__version__} cannot deserialise {path} (corrupt file,"
                                 f" or built for another TensorRT version or GPU): {detail}")
        self._runtime, self.engine = runtime, engine
        self.context = engine.create_execution_context()
        if self.context is None:
            raise ModelLoadError(f"TensorRT could not create an execution context for {path}"
                                 " (out of GPU memory?)")
        self.metadata = {k: v if isinstance(v, str) else repr(v) for k, v in metadata.items()
                         if k != "engine_key"}
        self.inputs, self.outputs = [], []
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            info = TensorInfo(name, tuple(engine.get_tensor_shape(name)),
                              np.dtype(trt.nptype(engine.get_tensor_dtype(name))).name)
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            (self.inputs if is_input else self.outputs).append(info)
        if len(self.inputs) != 1:
            raise ModelLayoutError(f"engine {path} has inputs {[t.name for t in self.inputs]};"
                                   " expected one image input")
        self._allocate()

    def _allocate(self) -> None:
        """Fix the input's size, then size every buffer for the largest batch and bind it.

        A dynamic batch axis runs up to the optimization profile's largest
        batch (`build-engine --max-batch`); each call sets the batch it has.
        """
        ctx = self.context
        image = self.inputs[0]
        h, w = image.shape[2], image.shape[3]
        if any(not isinstance(d, int) or d <= 0 for d in image.shape[1:]):
            import ast

            imgsz = ast.literal_eval(self.metadata.get("imgsz", "None")) if "imgsz" in self.metadata else None
            if imgsz is None:
                raise ModelLayoutError(f"engine input '{image.name}' has dynamic size {image.shape}"
                                       " and no imgsz metadata")
            h, w = (imgsz, imgsz) if isinstance(imgsz, int) else imgsz
        self._dynamic_batch = not (isinstance(image.shape[0], int) and image.shape[0] > 0)
        self.max_batch = self._profile_max_batch(image.name) if self._dynamic_batch else int(image.shape[0])
        self._image_chw = (3, int(h), int(w))
        full = (self.max_batch, *self._image_chw)
        if not ctx.set_input_shape(image.name, full):
            raise ModelLayoutError(f"engine rejects input shape {full} for '{image.name}'")
        self._batch = self.max_batch
        batch_dim = "batch" if self._dynamic_batch and self.max_batch > 1 else self.max_batch
        self.inputs = [TensorInfo(image.name, (batch_dim, *self._image_chw), image.dtype)]
        self._device, self._host = {}, {}
        self._host_input = self.memory.host_empty(full, image.dtype)
        for info in [image] + self.outputs:
            out_shape = full if info is image else tuple(ctx.get_tensor_shape(info.name))
            buffer = self.memory.device_empty(out_shape, info.dtype)
            self._device[info.name] = buffer
            if not ctx.set_tensor_address(info.name, self.memory.address(buffer)):
                raise ModelLoadError(f"TensorRT rejected the address of tensor '{info.name}'")
            if info is not image:
                self._host[info.name] = self.memory.host_empty(out_shape, info.dtype)
        self.outputs = [TensorInfo(o.name, (batch_dim, *self._host[o.name].shape[1:]), o.dtype)
                        for o in self.outputs]

    def _profile_max_batch(self, name: str) -> int:
        """Return the largest batch of the engine's first optimization profile (1 without one)."""
        try:
            return max(1, int(self.engine.get_tensor_profile_shape(name, 0)[2][0]))
        except Exception:  # no profile (an engine built without one): batch 1
            return 1

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run one batch; outputs by name, in pinned host buffers reused across calls."""
        image = self.inputs[0]
        count = batch.shape[0]
        if tuple(batch.shape[1:]) != self._image_chw or not 1 <= count <= self.max_batch or \
                (not self._dynamic_batch and count != self.max_batch):
            raise ModelLayoutError(f"batch shape {batch.shape} does not fit engine input"
                                   f" ({'1..' if self._dynamic_batch else ''}{self.max_batch}, {self._image_chw})")
        if count != self._batch:
            if not self.context.set_input_shape(image.name, (count, *self._image_chw)):
                raise ModelLayoutError(f"engine rejects batch {count} for '{image.name}'")
            self._batch = count
        np.copyto(self._host_input[:count], batch, casting="same_kind")
        self.memory.copy_to_device(self._device[image.name], self._host_input)
        if not self.context.execute_async_v3(self.memory.stream_handle):
            detail = "; ".join(self._logger.errors[-3:]) or "no detail"
            raise ModelLoadError(f"TensorRT execution failed: {detail}")
        for name, host in self._host.items():
            self.memory.copy_to_host(host, self._device[name])
        self.memory.synchronize()
        return {name: host[:count] for name, host in self._host.items()}

    def describe(self) -> str:
        """Name TensorRT's version and the GPU."""
        return f"tensorrt {self._trt.__version__} on {self.memory.device_name()}"
