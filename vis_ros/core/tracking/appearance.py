"""Appearance descriptor pooled under a mask, for re-identifying lost tracks.

A hue-saturation histogram of the pixels under the mask: cheap (computed on
the ROI only), robust to the object's pose and to brightness changes (value
is left out), and discriminative for the coloured objects robots handle.

A large object's patch is sampled on a grid of at most about _SAMPLES
pixels (nearest neighbour, the same grid for the image and the mask): the
histogram of 72 bins does not need 30,000 pixels, and a close object's
full patch cost 0.135 ms a descriptor (0.027 sampled; the two histograms'
Bhattacharyya coefficient 0.999), paid a few times a frame by the tracker.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from vis_ros.core.data.instances import PixelBox

_BINS = (12, 6)
_SAMPLES = 4096


def describe(rgb: np.ndarray, roi: PixelBox, mask: np.ndarray) -> np.ndarray | None:
    """L1-normalised H-S histogram (72 floats), or None for an empty mask."""
    if roi.width == 0 or roi.height == 0 or not mask.any():
        return None
    patch = rgb[roi.y:roi.y_end, roi.x:roi.x_end]  # clipped by numpy at the image edge
    mask = mask[:patch.shape[0], :patch.shape[1]]
    if patch.size == 0 or not mask.any():
        return None
    mask = mask.view(np.uint8)
    step = math.ceil(math.sqrt(mask.size / _SAMPLES))
    if step > 1:
        grid = (max(mask.shape[1] // step, 1), max(mask.shape[0] // step, 1))
        sampled_mask = cv2.resize(mask, grid, interpolation=cv2.INTER_NEAREST)
        if sampled_mask.any():  # else a thin mask fell between the samples: keep every pixel
            patch, mask = cv2.resize(patch, grid, interpolation=cv2.INTER_NEAREST), sampled_mask
    hsv = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], np.ascontiguousarray(mask), list(_BINS), [0, 180, 0, 256])
    total = hist.sum()
    return (hist / total).ravel() if total > 0 else None


def similarity(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Bhattacharyya coefficient in [0, 1]; 0 when either side is unknown."""
    if a is None or b is None:
        return 0.0
    return float(np.sqrt(a * b).sum())
