"""Appearance descriptor pooled under a mask, for re-identifying lost tracks.

A hue-saturation histogram of the pixels under the mask: cheap (computed on
the ROI only), robust to the object's pose and to brightness changes (value
is left out), and discriminative for the coloured objects robots handle.
"""
from __future__ import annotations

import cv2
import numpy as np

from vis_ros.core.data.instances import PixelBox

_BINS = (12, 6)


def describe(rgb: np.ndarray, roi: PixelBox, mask: np.ndarray) -> np.ndarray | None:
    """L1-normalised H-S histogram (72 floats), or None for an empty mask."""
    if roi.width == 0 or roi.height == 0 or not mask.any():
        return None
    patch = rgb[roi.y:roi.y_end, roi.x:roi.x_end]  # clipped by numpy at the image edge
    mask = mask[:patch.shape[0], :patch.shape[1]]
    if patch.size == 0 or not mask.any():
        return None
    hsv = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], mask.astype(np.uint8), list(_BINS), [0, 180, 0, 256])
    total = hist.sum()
    return (hist / total).ravel() if total > 0 else None


def similarity(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Bhattacharyya coefficient in [0, 1]; 0 when either side is unknown."""
    if a is None or b is None:
        return 0.0
    return float(np.sqrt(a * b).sum())
