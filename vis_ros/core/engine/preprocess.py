"""Image -> model input tensor, into buffers reused across frames.

Letterbox (aspect kept, pad 114), RGB order, scale to 0..1, NCHW, in the
model's input dtype. The letterbox geometry is cached per source size, and
the uint8 canvas and the input tensor are allocated once.
"""
from __future__ import annotations

import numpy as np

from vis_ros.core.engine.errors import InputError
from vis_ros.core.engine.letterbox import Letterbox


class Preprocessor:
    def __init__(self, input_hw: tuple[int, int], dtype: str = "float32"):
        self.input_hw = tuple(input_hw)
        self.dtype = np.dtype(dtype)
        self._canvas = np.empty((*self.input_hw, 3), np.uint8)
        self._tensor = np.empty((1, 3, *self.input_hw), self.dtype)
        self._letterbox: Letterbox | None = None

    def letterbox_for(self, height: int, width: int) -> Letterbox:
        lb = self._letterbox
        if lb is None or (lb.source_height, lb.source_width) != (height, width):
            lb = self._letterbox = Letterbox.fit((height, width), self.input_hw)
        return lb

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        """(1, 3, H, W) tensor (a view of the reused buffer) and the letterbox used.

        `rgb` is (H, W, 3) uint8 in RGB order; convert other encodings first.
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise InputError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
        letterbox = self.letterbox_for(rgb.shape[0], rgb.shape[1])
        canvas = letterbox.apply(rgb, out=self._canvas)
        # HWC uint8 -> CHW float, scaled, in one pass per channel into the reused tensor.
        np.multiply(canvas.transpose(2, 0, 1), np.float32(1.0 / 255.0), out=self._tensor[0],
                    casting="unsafe")
        return self._tensor, letterbox
