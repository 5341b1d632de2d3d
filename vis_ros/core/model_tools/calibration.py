"""Calibration tensors for INT8, from one place for ONNX Runtime and TensorRT alike.

Quantization is only as good as the images it calibrates on, and they must
reach the model exactly as at inference: the same letterbox, scaling and
layout (the node's Preprocessor). Where the images come from (a folder, a
rosbag2 topic, the simulator) is I/O: vis_ros.io.calibration_images.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

from vis_ros.core.engine.preprocess import Preprocessor


class ImageSource(Protocol):
    """Calibration images: `images()` yields RGB uint8 arrays; `skipped` counts unreadable ones."""

    skipped: int

    def images(self) -> Iterator[np.ndarray]:
        """Yield (H, W, 3) uint8 RGB images; ValueError if none is readable."""

    def describe(self) -> str:
        """Name the source for logs and the model's metadata."""


def calibration_tensors(source: ImageSource, input_hw: tuple[int, int]) -> Iterator[np.ndarray]:
    """Yield (1, 3, H, W) float32 inputs of the source's images, pre-processed as at inference."""
    pre = Preprocessor(input_hw)
    for rgb in source.images():
        tensor, _ = pre(rgb)
        yield tensor.copy()
