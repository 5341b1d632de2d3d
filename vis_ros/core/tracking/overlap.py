"""Box and mask overlap between tracks and detections.

Mask IoU is computed on box crops: each mask is stored local to its ROI, so
only the overlap rectangle of two ROIs is compared, never full images, and
pairs whose boxes do not overlap are skipped.
"""
from __future__ import annotations

import numpy as np

from vis_ros.core.data.instances import PixelBox


def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of xyxy boxes, (N, 4) x (M, 4) -> (N, M).

    Plain ufuncs with `out=` (no np.clip / .prod wrappers): the tracker calls
    this every frame on a few boxes, where each numpy call's overhead is
    the cost.
    """
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)  # integer boxes too; no copy for float64
    overlap = np.minimum(a[:, None, 2:], b[None, :, 2:])
    overlap -= np.maximum(a[:, None, :2], b[None, :, :2])
    np.maximum(overlap, 0.0, out=overlap)
    inter = overlap[..., 0] * overlap[..., 1]
    union = _area(a)[:, None] + _area(b)[None, :]
    union -= inter
    union += 1e-9
    return np.divide(inter, union, out=inter)


def _area(boxes: np.ndarray) -> np.ndarray:
    size = boxes[:, 2:] - boxes[:, :2]
    np.maximum(size, 0.0, out=size)
    return size[:, 0] * size[:, 1]


def mask_intersection(roi_a: PixelBox, mask_a: np.ndarray, roi_b: PixelBox, mask_b: np.ndarray) -> int:
    """Count the pixels set in both masks, each given in its own box."""
    x0, y0 = max(roi_a.x, roi_b.x), max(roi_a.y, roi_b.y)
    x1, y1 = min(roi_a.x_end, roi_b.x_end), min(roi_a.y_end, roi_b.y_end)
    if x0 >= x1 or y0 >= y1:
        return 0
    a = mask_a[y0 - roi_a.y:y1 - roi_a.y, x0 - roi_a.x:x1 - roi_a.x]
    b = mask_b[y0 - roi_b.y:y1 - roi_b.y, x0 - roi_b.x:x1 - roi_b.x]
    return int(np.count_nonzero(a & b))


def shift_roi(roi: PixelBox, dx: int, dy: int, height: int, width: int) -> tuple[PixelBox, slice, slice]:
    """ROI moved by (dx, dy) and clipped to the image, with the mask slices that survive."""
    x0, y0 = roi.x + dx, roi.y + dy
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x0 + roi.width, width), min(y0 + roi.height, height)
    if cx0 >= cx1 or cy0 >= cy1:
        return PixelBox(min(max(cx0, 0), width), min(max(cy0, 0), height), 0, 0), slice(0, 0), slice(0, 0)
    return (PixelBox(cx0, cy0, cx1 - cx0, cy1 - cy0),
            slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
