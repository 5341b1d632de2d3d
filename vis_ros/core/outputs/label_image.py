"""Instance label images: one 16-bit image where each pixel holds a track id."""
from __future__ import annotations

import numpy as np


def label_image(instances, height: int, width: int) -> np.ndarray:
    """Pixel = track id (ids above 65535 wrap, 0 stays background); higher scores on top."""
    labels = np.zeros((height, width), np.uint16)
    for inst in sorted(instances, key=lambda i: i.score):
        r = inst.box
        region = labels[r.y:r.y_end, r.x:r.x_end]
        region[inst.mask[:region.shape[0], :region.shape[1]]] = (inst.track_id - 1) % 65535 + 1
    return labels
