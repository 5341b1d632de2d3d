"""Inference backends behind one small interface, chosen by name.

A backend loads a model file once and runs a batch: `run(batch)` returns the
output tensors by name as numpy arrays on the host. Its `inputs`/`outputs`
(TensorInfo) and `metadata` feed `build_spec`, which checks the YOLO-seg layout.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from vis_ros.core.engine.model_spec import TensorInfo


class Backend(Protocol):
    """What the segmenter needs of an inference backend (ONNX Runtime, TensorRT)."""

    name: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    metadata: dict[str, str]

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run one input batch; return every output by name."""

    def describe(self) -> str:
        """Name the backend and its device, for the node's log and /diagnostics."""


def _onnxruntime(path, **options):
    from vis_ros.core.engine.backends.onnxruntime_backend import OnnxRuntimeBackend

    return OnnxRuntimeBackend(path, **options)


def _tensorrt(path, **options):
    from vis_ros.core.engine.backends.tensorrt_backend import TensorRTBackend

    return TensorRTBackend(path, **options)


BACKENDS = {"onnxruntime": _onnxruntime, "tensorrt": _tensorrt}


def create_backend(name: str, path, **options) -> Backend:
    """Backend `name` for the model at `path`; unknown names list the valid ones."""
    if name == "auto":
        name = "tensorrt" if str(path).endswith((".engine", ".plan")) else "onnxruntime"
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; valid: {sorted(BACKENDS) + ['auto']}") from None
    return factory(path, **options)
