"""Ground truth of simulated frames, shared by training labels and every evaluation.

What counts as ground truth in simulated frames, in one place for training
labels and every evaluation (so they cannot drift apart).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from vis_ros.core.data.instances import Instance2D, PixelBox, TrackState

# Objects with fewer visible pixels (at 640x480) are slivers: not labelled for
# training, crowd regions for mAP, not ground truth for tracking.
MIN_VISIBLE_PIXELS = 40


def gt_masks(instance_ids: np.ndarray, objects: Iterable[tuple[int, int]],
             min_pixels: int = MIN_VISIBLE_PIXELS) -> dict[int, np.ndarray]:
    """Object id -> full-image mask, for objects given as (id, visible pixels)."""
    return {oid: instance_ids == oid for oid, visible in objects if visible >= min_pixels}


def gt_instances(instance_ids: np.ndarray, objects, min_pixels: int = 200) -> list[Instance2D]:
    """Ground-truth objects (ObjectTruth) as confirmed Instance2D, mask local to its box."""
    out = []
    for o in objects:
        ys, xs = np.nonzero(instance_ids == o.object_id)
        if len(xs) < min_pixels:
            continue
        box = PixelBox(int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
        mask = instance_ids[box.y:box.y_end, box.x:box.x_end] == o.object_id
        out.append(Instance2D(o.object_id, o.class_id, o.class_name, 1.0, TrackState.CONFIRMED, 0, box, mask))
    return out
