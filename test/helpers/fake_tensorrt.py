"""A strict stand-in for the TensorRT 10 Python API and CUDA memory, for CPU-only tests.

Full TensorRT cannot be installed on these machines, so the tensorrt backend
is tested against this fake. It is strict where the real API is: tensors are
addressed by name, every input shape must be set (`set_input_shape`) and
every I/O tensor must have an address from a real allocation of sufficient
size before `execute_async_v3`, which takes an integer stream handle from the
same memory. Device work is queued and only happens at `synchronize()`, so a
caller that reads host outputs without synchronising reads stale data.

Fake plans: b"FAKEPLAN" + JSON {"trt_version", "tensors": [{name, mode, shape, dtype}],
"boxes": [...], "profile", "layout"}. `execute` computes real outputs from the input: prototypes
from 4x4 mean pooling of the image, detections from the plan's boxes (raw-head columns, or
end-to-end rows). Dynamic dimensions are -1 as TensorRT reports them; an output's follow the
input's shape (batch; prototypes input/4; raw-head anchors over strides 8, 16, 32). A tensor's
data is the contiguous prefix of its buffer in its current shape, as on a GPU.

The builder side (Builder, OnnxParser, builder config, optimization profiles) holds what
`vis-ros build-engine` relies on: the parser reads the ONNX graph's inputs and outputs (dynamic
dimensions become -1) and refuses a TopK beyond TensorRT's limit; a network with a dynamic
input needs an optimization profile covering it (min <= opt <= max, fixed dimensions kept), and
INT8 on a dynamic input a calibration profile too; the plan it builds runs with BUILT_PLAN_BOXES.
"""
from __future__ import annotations

import enum
import itertools
import json

import numpy as np

__version__ = "10.3.0"
MAGIC = b"FAKEPLAN"


class DataType(enum.Enum):
    FLOAT = np.float32
    HALF = np.float16
    INT32 = np.int32


def nptype(dtype: DataType):
    return dtype.value


class TensorIOMode(enum.Enum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


class ILogger:
    class Severity(enum.IntEnum):
        INTERNAL_ERROR = 0
        ERROR = 1
        WARNING = 2
        INFO = 3
        VERBOSE = 4

    def __init__(self):
        pass

    def log(self, severity, msg):  # pragma: no cover - overridden
        pass


class Runtime:
    def __init__(self, logger: ILogger):
        if not isinstance(logger, ILogger):
            raise TypeError("Runtime needs an ILogger")
        self.logger = logger

    def deserialize_cuda_engine(self, plan: bytes):
        if not isinstance(plan, (bytes, bytearray, memoryview)):
            raise TypeError("deserialize_cuda_engine takes the serialised plan bytes")
        plan = bytes(plan)
        if not plan.startswith(MAGIC):
            self.logger.log(ILogger.Severity.ERROR, "1: [runtime.cpp::parsePlan] Error Code 1:"
                            " Serialization (Serialization assertion magicTagRead == kMAGIC_TAG failed.)")
            return None
        spec = json.loads(plan[len(MAGIC):])
        if spec["trt_version"] != __version__:
            self.logger.log(ILogger.Severity.ERROR, "6: The engine plan file is not compatible with this"
                            f" version of TensorRT, expecting library version {__version__}"
                            f" got {spec['trt_version']}, please rebuild.")
            return None
        return ICudaEngine(spec)


def make_plan(tensors, boxes=(), trt_version=__version__, max_batch=1, profile=None, layout="raw") -> bytes:
    """Return a plan; `max_batch` is the largest batch of its one optimization profile (dynamic inputs).

    `profile`: (min, opt, max) of the input, for inputs dynamic beyond the batch; `layout`
    "raw" or "e2e" says how the detections output is filled.
    """
    return MAGIC + json.dumps({"trt_version": trt_version, "tensors": tensors, "boxes": list(boxes),
                               "max_batch": max_batch, "profile": profile, "layout": layout}).encode()


def _anchors(height: int, width: int) -> int:
    return sum((height // s) * (width // s) for s in (8, 16, 32))


class ICudaEngine:
    def __init__(self, spec):
        self._tensors = {t["name"]: t for t in spec["tensors"]}
        self._order = [t["name"] for t in spec["tensors"]]
        self._boxes = spec["boxes"]
        self._max_batch = spec.get("max_batch", 1)
        self._profile = spec.get("profile")
        self._layout = spec.get("layout", "raw")

    @property
    def num_io_tensors(self) -> int:
        return len(self._order)

    def get_tensor_name(self, index: int) -> str:
        if not 0 <= index < len(self._order):
            raise IndexError(f"tensor index {index} out of range")
        return self._order[index]

    def _tensor(self, name):
        if name not in self._tensors:
            raise KeyError(f"no tensor named {name!r}")
        return self._tensors[name]

    def get_tensor_mode(self, name) -> TensorIOMode:
        return TensorIOMode[self._tensor(name)["mode"]]

    def get_tensor_shape(self, name) -> tuple:
        return tuple(self._tensor(name)["shape"])

    def get_tensor_profile_shape(self, name, profile_index: int):
        """(min, opt, max) shapes of a dynamic input, as TensorRT reports them."""
        tensor = self._tensor(name)
        if tensor["mode"] != "INPUT":
            raise ValueError(f"get_tensor_profile_shape on output tensor {name!r}")
        if profile_index != 0 or -1 not in tensor["shape"]:
            raise RuntimeError(f"no optimization profile {profile_index} for {name!r}")
        if self._profile is not None:
            return tuple(tuple(shape) for shape in self._profile)
        rest = tuple(tensor["shape"][1:])
        return (1, *rest), (1, *rest), (self._max_batch, *rest)

    def get_tensor_dtype(self, name) -> DataType:
        return DataType[self._tensor(name)["dtype"]]

    def create_execution_context(self):
        return IExecutionContext(self)


class IExecutionContext:
    def __init__(self, engine: ICudaEngine):
        self.engine = engine
        self._shapes: dict[str, tuple] = {}
        self._addresses: dict[str, int] = {}
        self.executions = 0

    def set_input_shape(self, name, shape) -> bool:
        tensor = self.engine._tensor(name)
        if tensor["mode"] != "INPUT":
            raise ValueError(f"set_input_shape on output tensor {name!r}")
        shape = tuple(int(d) for d in shape)
        declared = tensor["shape"]
        if len(shape) != len(declared) or any(d != -1 and d != s for d, s in zip(declared, shape, strict=True)):
            return False
        if -1 in declared:  # inside the optimization profile, dimension by dimension
            low, _, high = self.engine.get_tensor_profile_shape(name, 0)
            if not all(lo <= s <= hi for lo, s, hi in zip(low, shape, high, strict=True)):
                return False
        self._shapes[name] = shape
        return True

    def _input_shape(self) -> tuple | None:
        inputs = [t for t in self.engine._tensors.values() if t["mode"] == "INPUT"]
        return self._shapes.get(inputs[0]["name"]) if inputs else None

    def get_tensor_shape(self, name) -> tuple:
        tensor = self.engine._tensor(name)
        if tensor["mode"] == "INPUT":
            return self._shapes.get(name, tuple(tensor["shape"]))
        if any(t["mode"] == "INPUT" and t["name"] not in self._shapes and -1 in t["shape"]
               for t in self.engine._tensors.values()):
            return tuple(-1 for _ in tensor["shape"])
        shape = list(tensor["shape"])
        n, _, h, w = self._input_shape()
        if shape[0] == -1:
            shape[0] = n
        if len(shape) == 4:
            shape[2:] = [h // 4 if shape[2] == -1 else shape[2], w // 4 if shape[3] == -1 else shape[3]]
        elif shape[2] == -1:  # raw head: one column per anchor
            shape[2] = _anchors(h, w)
        return tuple(shape)

    def set_tensor_address(self, name, address) -> bool:
        self.engine._tensor(name)
        if not isinstance(address, int) or address == 0:
            raise TypeError(f"tensor address for {name!r} must be a non-zero int, got {address!r}")
        self._addresses[name] = address
        return True

    def execute_async_v3(self, stream_handle) -> bool:
        if not isinstance(stream_handle, int):
            raise TypeError("execute_async_v3 takes an integer CUDA stream handle")
        memory = FakeCudaMemory.for_stream(stream_handle)
        for name, tensor in self.engine._tensors.items():
            if tensor["mode"] == "INPUT" and name not in self._shapes:
                raise RuntimeError(f"input shape of {name!r} not set before execute_async_v3")
            if name not in self._addresses:
                raise RuntimeError(f"no address set for tensor {name!r}")
            buffer = memory.lookup(self._addresses[name])
            shape = self.get_tensor_shape(name)
            needed = int(np.prod(shape)) * np.dtype(nptype(DataType[tensor["dtype"]])).itemsize
            if buffer.nbytes < needed:
                raise RuntimeError(f"buffer for {name!r} has {buffer.nbytes} bytes, needs {needed}")
        memory.enqueue(self._compute, memory)
        self.executions += 1
        return True

    def _view(self, memory, name) -> np.ndarray:
        """Return the tensor as the engine sees it: the prefix of its buffer in its current shape."""
        shape = self.get_tensor_shape(name)
        return memory.lookup(self._addresses[name]).reshape(-1)[:int(np.prod(shape))].reshape(shape)

    def _compute(self, memory) -> None:
        by_mode = {"INPUT": [], "OUTPUT": []}
        for name, t in self.engine._tensors.items():
            by_mode[t["mode"]].append(name)
        image = self._view(memory, by_mode["INPUT"][0]).astype(np.float32)
        for name in by_mode["OUTPUT"]:
            out = self._view(memory, name)
            if out.ndim == 4:  # prototypes: image brightness pooled 4x4, minus 0.5
                n, c, h, w = image.shape
                pooled = image.reshape(n, c, h // 4, 4, w // 4, 4).mean(axis=(1, 3, 5))
                out[...] = (pooled - 0.5)[:, None] * np.ones((1, out.shape[1], 1, 1))
                out[:, 1:] = 0.0
            elif self.engine._layout == "e2e":  # rows x1, y1, x2, y2, score, class, coefficients
                out[...] = 0.0
                for row, (cx, cy, bw, bh, cls, score) in enumerate(self.engine._boxes):
                    out[:, row, :6] = (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2, score, cls)
                    out[:, row, 6] = 20.0
            else:  # detections: the plan's boxes in every image, 4 + nc + nm rows
                out[...] = 0.0
                nc = out.shape[1] - 4 - 32
                for a, (cx, cy, bw, bh, cls, score) in enumerate(self.engine._boxes):
                    out[:, 0:4, a] = (cx, cy, bw, bh)
                    out[:, 4 + cls, a] = score
                    out[:, 4 + nc, a] = 20.0


# -- the builder ------------------------------------------------------------------------------
TOPK_LIMIT = 3840  # TensorRT's largest K for TopK
BUILT_PLAN_BOXES = [(160, 128, 60, 40, 3, 0.9)]  # what a plan built here reports when it runs


class MemoryPoolType(enum.Enum):
    WORKSPACE = 0


class BuilderFlag(enum.Enum):
    FP16 = 0
    INT8 = 1


class IProgressMonitor:
    def __init__(self):
        pass


class IInt8EntropyCalibrator2:
    def __init__(self):
        pass


class ITensor:
    def __init__(self, name: str, shape: tuple, dtype: DataType):
        self.name, self.shape, self.dtype = name, shape, dtype


class INetworkDefinition:
    def __init__(self):
        self.inputs: list[ITensor] = []
        self.outputs: list[ITensor] = []
        self.metadata: dict[str, str] = {}

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)

    @property
    def num_outputs(self) -> int:
        return len(self.outputs)

    def get_input(self, index: int) -> ITensor:
        return self.inputs[index]

    def get_output(self, index: int) -> ITensor:
        return self.outputs[index]


class OnnxParser:
    _TYPES = {1: DataType.FLOAT, 10: DataType.HALF, 6: DataType.INT32}

    def __init__(self, network: INetworkDefinition, logger: ILogger):
        if not isinstance(network, INetworkDefinition) or not isinstance(logger, ILogger):
            raise TypeError("OnnxParser(network, logger)")
        self.network, self._errors = network, []

    @property
    def num_errors(self) -> int:
        return len(self._errors)

    def get_error(self, index: int) -> str:
        return self._errors[index]

    def parse(self, model: bytes) -> bool:
        import onnx
        from onnx import numpy_helper

        try:
            proto = onnx.load_from_string(bytes(model))
        except Exception as exc:  # noqa: BLE001 - the parser reports, never raises
            self._errors.append(f"ModelImporter.cpp: failed to parse the ONNX model: {exc}")
            return False
        constants = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
        for node in proto.graph.node:
            if node.op_type == "TopK" and node.input[1] in constants:
                k = int(np.max(constants[node.input[1]]))
                if k > TOPK_LIMIT:
                    self._errors.append(f"TopK node {node.name or node.output[0]}: K = {k} exceeds {TOPK_LIMIT}")
        if self._errors:
            return False

        def tensor(value_info) -> ITensor:
            shape = tuple(d.dim_value if d.HasField("dim_value") else -1
                          for d in value_info.type.tensor_type.shape.dim)
            return ITensor(value_info.name, shape, self._TYPES[value_info.type.tensor_type.elem_type])

        initializers = set(constants)
        self.network.inputs = [tensor(i) for i in proto.graph.input if i.name not in initializers]
        self.network.outputs = [tensor(o) for o in proto.graph.output]
        self.network.metadata = {p.key: p.value for p in proto.metadata_props}
        return True


class IOptimizationProfile:
    def __init__(self):
        self.shapes: dict[str, tuple] = {}

    def set_shape(self, name: str, min, opt, max) -> None:  # noqa: A002 (TensorRT's names)
        shapes = tuple(tuple(int(d) for d in s) for s in (min, opt, max))
        if len({len(s) for s in shapes}) != 1:
            raise ValueError(f"profile shapes of {name!r} differ in rank: {shapes}")
        if not all(1 <= lo <= o <= hi for lo, o, hi in zip(*shapes, strict=True)):
            raise ValueError(f"profile of {name!r} needs 1 <= min <= opt <= max: {shapes}")
        self.shapes[name] = shapes


class IBuilderConfig:
    def __init__(self):
        self.flags: set = set()
        self.pools: dict = {}
        self.profiles: list[IOptimizationProfile] = []
        self.calibration_profile: IOptimizationProfile | None = None
        self.progress_monitor = None
        self.int8_calibrator = None

    def set_memory_pool_limit(self, pool: MemoryPoolType, size: int) -> None:
        if not isinstance(pool, MemoryPoolType) or size <= 0:
            raise TypeError("set_memory_pool_limit(MemoryPoolType, bytes > 0)")
        self.pools[pool] = size

    def set_flag(self, flag: BuilderFlag) -> None:
        self.flags.add(flag)

    def add_optimization_profile(self, profile: IOptimizationProfile) -> int:
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def set_calibration_profile(self, profile: IOptimizationProfile) -> bool:
        self.calibration_profile = profile
        return True


class Builder:
    def __init__(self, logger: ILogger):
        if not isinstance(logger, ILogger):
            raise TypeError("Builder needs an ILogger")
        self.logger = logger

    def create_network(self, flags: int = 0) -> INetworkDefinition:
        return INetworkDefinition()

    def create_builder_config(self) -> IBuilderConfig:
        return IBuilderConfig()

    def create_optimization_profile(self) -> IOptimizationProfile:
        return IOptimizationProfile()

    def _error(self, message: str):
        self.logger.log(ILogger.Severity.ERROR, message)
        return None

    def build_serialized_network(self, network: INetworkDefinition, config: IBuilderConfig):
        profile = None
        for tensor in network.inputs:
            if -1 not in tensor.shape:
                continue
            covering = [p for p in config.profiles if tensor.name in p.shapes]
            if not covering:
                return self._error("4: [network.cpp::validate] Network has dynamic or shape inputs, but no"
                                   " optimization profile has been defined.")
            low, opt, high = covering[0].shapes[tensor.name]
            if len(low) != len(tensor.shape) or any(d != -1 and not lo == o == hi == d for d, lo, o, hi in
                                                    zip(tensor.shape, low, opt, high, strict=True)):
                return self._error(f"4: profile for {tensor.name!r} {covering[0].shapes[tensor.name]} does not"
                                   f" keep its fixed dimensions {tensor.shape}")
            if BuilderFlag.INT8 in config.flags and config.calibration_profile is None:
                return self._error("4: [builder.cpp] Calibration profile must be set for a network with"
                                   " dynamic input shapes when calibrating INT8.")
            profile = covering[0].shapes[tensor.name]
        monitor = config.progress_monitor
        if monitor is not None:
            monitor.phase_start("Building engine", None, 1)
            monitor.step_complete("Building engine", 0)
            monitor.phase_finish("Building engine")
        tensors = [{"name": t.name, "mode": mode, "dtype": t.dtype.name, "shape": list(t.shape)}
                   for mode, group in (("INPUT", network.inputs), ("OUTPUT", network.outputs)) for t in group]
        layout = "e2e" if network.metadata.get("end2end") == "True" else "raw"
        max_batch = profile[2][0] if profile else 1
        return make_plan(tensors, BUILT_PLAN_BOXES, max_batch=max_batch, profile=profile, layout=layout)


class FakeCudaMemory:
    """Device memory as numpy arrays behind integer addresses; ordered queue per stream."""

    _streams: dict[int, FakeCudaMemory] = {}
    _handles = itertools.count(0x7000)

    def __init__(self, gpu_name="NVIDIA Fake GPU", capability="8.7"):
        self._gpu, self._capability = gpu_name, capability
        self._buffers: dict[int, np.ndarray] = {}
        self._queue: list = []
        self._next = itertools.count(0x10000, 0x1000)
        self.stream_handle = next(self._handles)
        FakeCudaMemory._streams[self.stream_handle] = self
        self.synchronizations = 0

    @classmethod
    def for_stream(cls, handle: int) -> FakeCudaMemory:
        if handle not in cls._streams:
            raise RuntimeError(f"{handle:#x} is not a CUDA stream handle")
        return cls._streams[handle]

    def device_name(self) -> str:
        return self._gpu

    def compute_capability(self) -> str:
        return self._capability

    def device_empty(self, shape, dtype):
        address = next(self._next)
        self._buffers[address] = np.zeros(shape, dtype)
        return address

    def address(self, buffer) -> int:
        return buffer

    def lookup(self, address: int) -> np.ndarray:
        if address not in self._buffers:
            raise RuntimeError(f"{address:#x} is not a device allocation")
        return self._buffers[address]

    def host_empty(self, shape, dtype) -> np.ndarray:
        return np.full(shape, np.nan if np.dtype(dtype).kind == "f" else 0, dtype)

    def enqueue(self, fn, *args) -> None:
        self._queue.append((fn, args))

    def copy_to_device(self, dst: int, src: np.ndarray) -> None:
        snapshot = np.array(src, copy=True)  # pinned host memory is read at execution time
        self.enqueue(lambda: np.copyto(self.lookup(dst), snapshot.reshape(self.lookup(dst).shape)))

    def copy_to_host(self, dst: np.ndarray, src: int) -> None:
        self.enqueue(lambda: np.copyto(dst, self.lookup(src)))

    def synchronize(self) -> None:
        queue, self._queue = self._queue, []
        for fn, args in queue:
            fn(*args)
        self.synchronizations += 1


def yolo_seg_tensors(input_hw=(256, 320), num_classes=6, dynamic_batch=False, outputs=2):
    h, w = input_hw
    anchors = (h // 8) * (w // 8) + (h // 16) * (w // 16) + (h // 32) * (w // 32)
    batch = -1 if dynamic_batch else 1  # outputs follow the input's batch, as TensorRT reports them
    tensors = [{"name": "images", "mode": "INPUT", "dtype": "FLOAT", "shape": [batch, 3, h, w]},
               {"name": "output0", "mode": "OUTPUT", "dtype": "FLOAT",
                "shape": [batch, 4 + num_classes + 32, anchors]}]
    if outputs == 2:
        tensors.append({"name": "output1", "mode": "OUTPUT", "dtype": "FLOAT",
                        "shape": [batch, 32, h // 4, w // 4]})
    return tensors
