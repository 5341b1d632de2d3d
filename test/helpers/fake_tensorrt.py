"""A strict stand-in for the TensorRT 10 Python API and CUDA memory, for CPU-only tests.

Full TensorRT cannot be installed on these machines, so the tensorrt backend
is tested against this fake. It is strict where the real API is: tensors are
addressed by name, every input shape must be set (`set_input_shape`) and
every I/O tensor must have an address from a real allocation of sufficient
size before `execute_async_v3`, which takes an integer stream handle from the
same memory. Device work is queued and only happens at `synchronize()`, so a
caller that reads host outputs without synchronising reads stale data.

Fake plans: b"FAKEPLAN" + JSON {"trt_version", "tensors": [{name, mode, shape, dtype}],
"boxes": [...]}. `execute` computes real outputs from the input: prototypes
from 4x4 mean pooling of the image, detections from the plan's boxes.
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


def make_plan(tensors, boxes=(), trt_version=__version__, max_batch=1) -> bytes:
    """Return a plan; `max_batch` is the largest batch of its one optimization profile (dynamic inputs)."""
    return MAGIC + json.dumps({"trt_version": trt_version, "tensors": tensors,
                               "boxes": list(boxes), "max_batch": max_batch}).encode()


class ICudaEngine:
    def __init__(self, spec):
        self._tensors = {t["name"]: t for t in spec["tensors"]}
        self._order = [t["name"] for t in spec["tensors"]]
        self._boxes = spec["boxes"]
        self._max_batch = spec.get("max_batch", 1)

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
        """(min, opt, max) shapes of an input with a dynamic batch, as TensorRT reports them."""
        tensor = self._tensor(name)
        if tensor["mode"] != "INPUT":
            raise ValueError(f"get_tensor_profile_shape on output tensor {name!r}")
        if profile_index != 0 or -1 not in tensor["shape"]:
            raise RuntimeError(f"no optimization profile {profile_index} for {name!r}")
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
        if declared[0] == -1 and not 1 <= shape[0] <= self.engine._max_batch:  # outside the profile
            return False
        self._shapes[name] = shape
        return True

    def _batch(self) -> int | None:
        inputs = [t for t in self.engine._tensors.values() if t["mode"] == "INPUT"]
        return self._shapes[inputs[0]["name"]][0] if inputs and inputs[0]["name"] in self._shapes else None

    def get_tensor_shape(self, name) -> tuple:
        tensor = self.engine._tensor(name)
        if tensor["mode"] == "INPUT":
            return self._shapes.get(name, tuple(tensor["shape"]))
        if any(t["mode"] == "INPUT" and t["name"] not in self._shapes and -1 in t["shape"]
               for t in self.engine._tensors.values()):
            return tuple(-1 for _ in tensor["shape"])
        shape = tuple(tensor["shape"])
        return (self._batch(), *shape[1:]) if shape[0] == -1 else shape

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

    def _compute(self, memory) -> None:
        by_mode = {"INPUT": [], "OUTPUT": []}
        for name, t in self.engine._tensors.items():
            by_mode[t["mode"]].append(name)
        count = self._batch()  # only the first `count` rows of each (max-batch sized) buffer
        image = memory.lookup(self._addresses[by_mode["INPUT"][0]])[:count].astype(np.float32)
        for name in by_mode["OUTPUT"]:
            out = memory.lookup(self._addresses[name])[:count]
            if out.ndim == 4:  # prototypes: image brightness pooled 4x4, minus 0.5
                n, c, h, w = image.shape
                pooled = image.reshape(n, c, h // 4, 4, w // 4, 4).mean(axis=(1, 3, 5))
                out[...] = (pooled - 0.5)[:, None] * np.ones((1, out.shape[1], 1, 1))
                out[:, 1:] = 0.0
            else:  # detections: the plan's boxes in every image, 4 + nc + nm rows
                out[...] = 0.0
                nc = out.shape[1] - 4 - 32
                for a, (cx, cy, bw, bh, cls, score) in enumerate(self.engine._boxes):
                    out[:, 0:4, a] = (cx, cy, bw, bh)
                    out[:, 4 + cls, a] = score
                    out[:, 4 + nc, a] = 20.0


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
