"""TensorRT backend for .engine / .plan files, on the TensorRT 10 tensor API.

The engine is deserialised once; I/O tensors are found by name through
`num_io_tensors` / `get_tensor_name` / `get_tensor_mode`, every input shape
is set with `set_input_shape`, every tensor gets a device address with
`set_tensor_address`, and `execute_async_v3` runs on one CUDA stream. Input
goes through a pinned host buffer; outputs come back into pinned host
buffers allocated once, for the largest input the engine's optimization
profile allows (batch, and height and width for an engine built from a
model with a dynamic size); a call's tensors are the prefixes of those
buffers in its shapes. Errors name the file and the cause: missing,
corrupt, built for another TensorRT version or GPU, or I/O that is not the
YOLO-seg head.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vis_ros.core.data.errors import ModelLayoutError, ModelLoadError
from vis_ros.core.engine.backends.engine_file import EngineKey, check_key, read_engine
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
        """Size every buffer for the largest input the engine takes, and bind it.

        A dynamic batch axis runs up to the optimization profile's largest
        batch (`build-engine --max-batch`); a dynamic height and width up to
        the profile's largest (the model's imgsz); each call sets the shape it has.
        """
        ctx = self.context
        image = self.inputs[0]
        self._dynamic_batch = not (isinstance(image.shape[0], int) and image.shape[0] > 0)
        self._dynamic_hw = any(not isinstance(d, int) or d <= 0 for d in image.shape[2:])
        low, high = self._profile_range(image.name) if self._dynamic_batch or self._dynamic_hw else (None, None)
        if self._dynamic_hw and high is None:
            raise ModelLayoutError(f"engine input '{image.name}' has dynamic size {image.shape} and no"
                                   " optimization profile; rebuild it with vis-ros build-engine")
        self.max_batch = (int(high[0]) if high else 1) if self._dynamic_batch else int(image.shape[0])
        self._hw_range = ((int(low[2]), int(low[3])), (int(high[2]), int(high[3]))) if self._dynamic_hw else \
            ((int(image.shape[2]), int(image.shape[3])),) * 2
        full = (self.max_batch, 3, *self._hw_range[1])
        if not ctx.set_input_shape(image.name, full):
            raise ModelLayoutError(f"engine rejects input shape {full} for '{image.name}'")
        self._shape = full
        batch_dim = "batch" if self._dynamic_batch and self.max_batch > 1 else self.max_batch
        height, width = ("height", "width") if self._dynamic_hw else self._hw_range[1]
        self.inputs = [TensorInfo(image.name, (batch_dim, 3, height, width), image.dtype)]
        self._device, self._host = {}, {}
        self._host_input = self.memory.host_empty(full, image.dtype)
        declared = {o.name: o.shape for o in self.outputs}
        for info in [image] + self.outputs:
            out_shape = full if info is image else tuple(ctx.get_tensor_shape(info.name))
            buffer = self.memory.device_empty(out_shape, info.dtype)
            self._device[info.name] = buffer
            if not ctx.set_tensor_address(info.name, self.memory.address(buffer)):
                raise ModelLoadError(f"TensorRT rejected the address of tensor '{info.name}'")
            if info is not image:
                self._host[info.name] = self.memory.host_empty(out_shape, info.dtype)
        self._out_shapes = {name: host.shape for name, host in self._host.items()}
        # What changes with the input's size is reported as such (symbolic), as ONNX Runtime does.
        self.outputs = [TensorInfo(o.name, (batch_dim, *(
            f"{o.name}_{axis}" if self._dynamic_hw and declared[o.name][axis] == -1 else size
            for axis, size in enumerate(self._host[o.name].shape[1:], start=1))), o.dtype) for o in self.outputs]

    def _profile_range(self, name: str):
        """Return the smallest and largest input shapes of the engine's first optimization profile."""
        try:
            low, _, high = self.engine.get_tensor_profile_shape(name, 0)
        except Exception:  # no profile (an engine built without one): batch 1 at the declared size
            return None, None
        return tuple(int(d) for d in low), tuple(int(d) for d in high)

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run one batch; outputs by name, in pinned host buffers reused across calls."""
        image = self.inputs[0]
        count, channels, height, width = batch.shape
        (min_h, min_w), (max_h, max_w) = self._hw_range
        if channels != 3 or not 1 <= count <= self.max_batch or (not self._dynamic_batch and count != self.max_batch) \
                or not (min_h <= height <= max_h and min_w <= width <= max_w):
            size = f"{min_w}x{min_h}..{max_w}x{max_h}" if self._dynamic_hw else f"{max_w}x{max_h}"
            raise ModelLayoutError(f"batch shape {batch.shape} does not fit engine input"
                                   f" ({'1..' if self._dynamic_batch else ''}{self.max_batch} images of {size})")
        if batch.shape != self._shape:
            if not self.context.set_input_shape(image.name, batch.shape):
                raise ModelLayoutError(f"engine rejects input shape {batch.shape} for '{image.name}'")
            self._shape = batch.shape
            self._out_shapes = {name: tuple(self.context.get_tensor_shape(name)) for name in self._host}
        np.copyto(self._host_input.reshape(-1)[:batch.size], batch.reshape(-1), casting="same_kind")
        self.memory.copy_to_device(self._device[image.name], self._host_input)
        if not self.context.execute_async_v3(self.memory.stream_handle):
            detail = "; ".join(self._logger.errors[-3:]) or "no detail"
            raise ModelLoadError(f"TensorRT execution failed: {detail}")
        for name, host in self._host.items():
            self.memory.copy_to_host(host, self._device[name])
        self.memory.synchronize()
        return {name: host.reshape(-1)[:int(np.prod(shape))].reshape(shape)
                for name, host in self._host.items() for shape in (self._out_shapes[name],)}

    def describe(self) -> str:
        """Name TensorRT's version and the GPU."""
        return f"tensorrt {self._trt.__version__} on {self.memory.device_name()}"
