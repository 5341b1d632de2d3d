"""Colour overlays of instances for people: masks tinted by id, boxes, labels."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def colour_for(key: int) -> tuple[int, int, int]:
    """Return a stable, distinct RGB colour per id (golden-ratio hue steps)."""
    import colorsys

    r, g, b = colorsys.hsv_to_rgb((key * 0.618033988749895) % 1.0, 0.75, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def draw_overlay(rgb: np.ndarray, regions: Sequence, labels: Sequence[str], keys: Sequence[int],
                 alpha: float = 0.5) -> np.ndarray:
    """RGB image with each mask tinted and its label drawn.

    `regions` are (PixelBox, mask local to it) pairs; `keys` pick colours (track id, or class).
    """
    out = rgb.copy()
    for (r, m), label, key in zip(regions, labels, keys, strict=True):
        colour = np.array(colour_for(key), np.float32)
        region = out[r.y:r.y_end, r.x:r.x_end]
        region[m] = (region[m] * (1 - alpha) + colour * alpha).astype(np.uint8)
        cv2.rectangle(out, (r.x, r.y), (r.x_end - 1, r.y_end - 1), colour.tolist(), 1)
        cv2.putText(out, label, (r.x, max(r.y - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    colour.tolist(), 1, cv2.LINE_AA)
    return out
