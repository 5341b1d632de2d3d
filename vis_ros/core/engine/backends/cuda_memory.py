"""Device and pinned host memory for the TensorRT backend, through PyTorch.

Kept behind this small class so the backend's logic (which buffer, which
copy, when to synchronise) is the same code whether the memory is real CUDA
memory or the contract-checking fake the tests use on machines without a GPU.
"""
from __future__ import annotations

import numpy as np


class TorchCudaMemory:
    """Device and pinned host buffers and one CUDA stream, through torch (no pycuda needed)."""

    def __init__(self, device: int = 0):
        import torch

        if not torch.cuda.is_available():
            from vis_ros.core.data.errors import ModelLoadError

            raise ModelLoadError("the TensorRT backend needs a CUDA GPU, and torch sees none")
        self._torch = torch
        self.device = torch.device("cuda", device)
        self._stream = torch.cuda.Stream(self.device)

    @property
    def stream_handle(self) -> int:
        """The raw cudaStream_t TensorRT enqueues on."""
        return int(self._stream.cuda_stream)

    def device_name(self) -> str:
        """Return the GPU's name, part of the engine cache key."""
        return self._torch.cuda.get_device_name(self.device)

    def compute_capability(self) -> str:
        """Return the compute capability as "major.minor", part of the engine cache key."""
        major, minor = self._torch.cuda.get_device_capability(self.device)
        return f"{major}.{minor}"

    def device_empty(self, shape, dtype):
        """Allocate an uninitialised device tensor of a numpy dtype."""
        torch_dtype = self._torch.from_numpy(np.empty(0, dtype)).dtype
        return self._torch.empty(tuple(shape), dtype=torch_dtype, device=self.device)

    @staticmethod
    def address(buffer) -> int:
        """Return the device address TensorRT binds a tensor to."""
        return int(buffer.data_ptr())

    def host_empty(self, shape, dtype) -> np.ndarray:
        """Allocate a pinned host array (asynchronous copies need page-locked memory)."""
        torch_dtype = self._torch.from_numpy(np.empty(0, dtype)).dtype
        return self._torch.empty(tuple(shape), dtype=torch_dtype, pin_memory=True).numpy()

    def copy_to_device(self, dst, src: np.ndarray) -> None:
        """Queue a host-to-device copy on the stream."""
        with self._torch.cuda.stream(self._stream):
            dst.copy_(self._torch.from_numpy(src), non_blocking=True)

    def copy_to_host(self, dst: np.ndarray, src) -> None:
        """Queue a device-to-host copy on the stream."""
        with self._torch.cuda.stream(self._stream):
            self._torch.from_numpy(dst).copy_(src, non_blocking=True)

    def synchronize(self) -> None:
        """Wait until every queued copy and kernel of the stream is done."""
        self._stream.synchronize()
