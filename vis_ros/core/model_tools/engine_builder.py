"""TensorRT engines from ONNX, cached under a key that never lets a foreign engine load.

Build TensorRT engines from ONNX, cached under a key of GPU, TensorRT
version and build options, so a robot never silently loads a foreign engine.

The engine file carries the model's ONNX metadata (names, imgsz, ...) and the
EngineKey in its header (see engine_file.py). INT8 uses entropy calibration
on a folder of images, read and pre-processed by the same code as
`vis-ros quantize` (core/model_tools/calibration.py), with a calibration cache
beside the engine so rebuilds skip calibration.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from vis_ros.core.data.errors import ModelLoadError
from vis_ros.core.engine.backends.engine_file import EngineKey, file_sha256, write_engine
from vis_ros.core.model_tools.calibration import ImageSource, calibration_tensors


@dataclass(frozen=True)
class BuildOptions:
    """How to build an engine: precision, workspace, batch range, whether INT8."""

    fp16: bool = True
    int8: bool = False
    workspace_mb: int = 2048
    max_batch: int = 1

    def __post_init__(self) -> None:
        """Refuse options TensorRT would reject later with a vaguer message."""
        if not 64 <= self.workspace_mb <= 1 << 20:
            raise ValueError(f"workspace_mb must be in [64, 1048576], got {self.workspace_mb}")
        if not 1 <= self.max_batch <= 64:
            raise ValueError(f"max_batch must be in [1, 64], got {self.max_batch}")


def engine_key(onnx_path: Path, options: BuildOptions, gpu_name: str, capability: str,
               trt_version: str) -> EngineKey:
    """Build the cache key of `onnx_path` under `options` for this GPU and TensorRT."""
    return EngineKey(gpu_name, capability, trt_version, options.fp16, options.int8,
                     options.workspace_mb, options.max_batch, file_sha256(onnx_path))


def cached_engine_path(onnx_path: Path, cache_dir: Path, key: EngineKey) -> Path:
    """Return where the engine for `key` is cached (one file per model, GPU and options)."""
    return Path(cache_dir) / f"{Path(onnx_path).stem}-{key.slug()}.engine"


def _calibrator(trt, batches, cache_file: Path):
    import torch

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            trt.IInt8EntropyCalibrator2.__init__(self)
            self._batches = iter(batches)
            self._device = None

        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            batch = next(self._batches, None)
            if batch is None:
                return None
            self._device = torch.from_numpy(batch).cuda()
            return [int(self._device.data_ptr())]

        def read_calibration_cache(self):
            return cache_file.read_bytes() if cache_file.is_file() else None

        def write_calibration_cache(self, cache):
            cache_file.write_bytes(bytes(cache))

    return EntropyCalibrator()


def _progress_monitor(trt, log):
    class Progress(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)
            self._start = time.monotonic()

        def phase_start(self, phase_name, parent_phase, num_steps):
            log(f"[{time.monotonic() - self._start:6.1f} s] {phase_name} ({num_steps} steps)")

        def step_complete(self, phase_name, step):
            return True  # keep building

        def phase_finish(self, phase_name):
            pass

    return Progress()


def build_engine(onnx_path, cache_dir, options: BuildOptions = BuildOptions(), out: Path | None = None,
                 log=print, calibration: ImageSource | None = None, memory=None, trt_module=None) -> Path:
    """Build (or reuse from the cache) the engine for `onnx_path` on this GPU.

    INT8 calibrates on `calibration` (vis_ros.io.calibration_images), which it needs.
    Raw-head and end-to-end exports alike: the engine keeps the model's outputs.
    A dynamic input gets one optimization profile: batch 1..max_batch, and for
    a model with a dynamic size every stride multiple up to its imgsz (what
    the letterbox gives a camera of any shape), optimised for the full size.
    `memory` and `trt_module` stand in for the GPU and TensorRT in tests.
    """
    if options.int8 and calibration is None:
        raise ValueError("int8 needs calibration images (a folder of representative images)")
    from vis_ros.core.engine.backends.onnxruntime_backend import OnnxRuntimeBackend
    from vis_ros.core.engine.backends.tensorrt_backend import _collecting_logger, import_tensorrt
    from vis_ros.core.engine.model_spec import build_spec

    trt = trt_module or import_tensorrt()
    onnx_path = Path(onnx_path)
    if memory is None:
        from vis_ros.core.engine.backends.cuda_memory import TorchCudaMemory

        memory = TorchCudaMemory()
    key = engine_key(onnx_path, options, memory.device_name(), memory.compute_capability(),
                     str(trt.__version__))
    target = out or cached_engine_path(onnx_path, cache_dir, key)
    if target.is_file():
        log(f"engine cache hit: {target}")
        return target
    # Validate the layout and take the metadata with ONNX Runtime (CPU) first.
    reference = OnnxRuntimeBackend(onnx_path, providers=["CPUExecutionProvider"])
    spec = build_spec(reference.inputs, reference.outputs, reference.metadata)
    logger = _collecting_logger(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelLoadError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mb << 20)
    config.progress_monitor = _progress_monitor(trt, log)
    if options.fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    if options.int8:
        config.set_flag(trt.BuilderFlag.INT8)
        cache = target.with_suffix(".calib")
        config.int8_calibrator = _calibrator(
            trt, calibration_tensors(calibration, spec.input_hw), cache)
    image = network.get_input(0)
    if -1 in tuple(image.shape):
        profile = builder.create_optimization_profile()
        h, w = spec.input_hw
        low_n, high_n = (1, options.max_batch) if image.shape[0] == -1 else (image.shape[0],) * 2
        low_hw = (spec.stride, spec.stride) if spec.dynamic_hw else (h, w)
        profile.set_shape(image.name, (low_n, 3, *low_hw), (low_n, 3, h, w), (high_n, 3, h, w))
        config.add_optimization_profile(profile)
        if options.int8:
            config.set_calibration_profile(profile)
    log(f"building {target.name} (this takes minutes on embedded GPUs)")
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ModelLoadError(f"TensorRT failed to build {onnx_path}: {'; '.join(logger.errors)}")
    metadata = dict(reference.metadata)
    metadata["engine_key"] = key.__dict__
    write_engine(target, bytes(plan), metadata)
    log(f"wrote {target}")
    return target
