"""Letterbox resize: keep aspect ratio, pad to the model's input size.

Matches the Ultralytics convention (scale = min ratio, centred padding with
value 114, INTER_LINEAR), so user-exported YOLO-seg models see what they
were trained on. `Letterbox` remembers the mapping to undo it on boxes and
masks.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """Mapping from source-image pixels to model-input pixels: x_in = x * scale + pad_x."""

    scale: float
    pad_x: int
    pad_y: int
    resized_width: int
    resized_height: int
    source_width: int
    source_height: int
    input_width: int
    input_height: int

    @classmethod
    def fit(cls, source_hw: tuple[int, int], input_hw: tuple[int, int], stride: int | None = None) -> Letterbox:
        """Fit `source_hw` into `input_hw`, keeping the aspect ratio, padding evenly.

        With `stride` (a model with dynamic height and width), pad only to the
        next multiple of it instead of the full `input_hw`, as Ultralytics'
        predictor does for such models: 640x480 into 320x320 gives a 320x256
        input, the size the model's accuracy figures are measured at, and
        fewer pixels to run.
        """
        (h, w), (ih, iw) = source_hw, input_hw
        if min(h, w, ih, iw) <= 0:
            raise ValueError(f"sizes must be positive, got source {source_hw} input {input_hw}")
        scale = min(ih / h, iw / w)
        rw, rh = int(round(w * scale)), int(round(h * scale))
        if stride:
            iw, ih = rw + (iw - rw) % stride, rh + (ih - rh) % stride
        pad_x = int(round((iw - rw) / 2 - 0.1))
        pad_y = int(round((ih - rh) / 2 - 0.1))
        return cls(scale, pad_x, pad_y, rw, rh, w, h, iw, ih)

    def apply(self, image: np.ndarray, pad_value: float = PAD_VALUE,
              interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        """Letterbox an image the slow, obvious way.

        Letterboxed copy of `image` (H, W[, C]): the training data's path, and the
        reference the inference Preprocessor is tested against.
        """
        if image.shape[:2] != (self.source_height, self.source_width):
            raise ValueError(f"image is {image.shape[1]}x{image.shape[0]}, letterbox was fit for"
                             f" {self.source_width}x{self.source_height}")
        out = np.full((self.input_height, self.input_width) + image.shape[2:], pad_value, image.dtype)
        region = out[self.pad_y:self.pad_y + self.resized_height,
                     self.pad_x:self.pad_x + self.resized_width]
        if (self.resized_width, self.resized_height) == (self.source_width, self.source_height):
            region[...] = image
        else:
            region[...] = cv2.resize(image, (self.resized_width, self.resized_height),
                                     interpolation=interpolation).reshape(region.shape)
        return out

    @cached_property
    def _pad_xyxy(self) -> np.ndarray:
        return np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y], np.float32)

    @cached_property
    def _source_xyxy(self) -> np.ndarray:
        return np.array([self.source_width, self.source_height] * 2, np.float32)

    def boxes_to_source(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """Model-input boxes (N, 4) back to source pixels, clipped to the image."""
        out = np.subtract(boxes_xyxy, self._pad_xyxy, dtype=np.float32)
        out /= np.float32(self.scale)
        np.maximum(out, 0, out=out)
        return np.minimum(out, self._source_xyxy, out=out)

    def boxes_to_input(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """Map source-image boxes (xyxy) into the network input's pixels."""
        out = np.asarray(boxes_xyxy, dtype=np.float32) * self.scale
        out[:, [0, 2]] += self.pad_x
        out[:, [1, 3]] += self.pad_y
        return out
