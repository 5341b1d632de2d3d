"""Per-frame detections before tracking: what the engine's decoder produces."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vis_ros.core.data.instances import PixelBox


@dataclass(frozen=True, eq=False)
class Detection:
    """One detected object in source-image pixels.

    `box` is the sub-pixel box (x0, y0, x1, y1); `roi` the integer pixel
    rectangle containing it, to which `mask` (bool) is local. `mask_area`, its
    pixel count when the producer already knows it (the decoder does), saves
    the tracker counting it again; None means count it.
    """

    box: tuple[float, float, float, float]
    score: float
    class_id: int
    class_name: str
    roi: PixelBox
    mask: np.ndarray = field(repr=False)
    mask_area: int | None = None

    def full_mask(self, height: int, width: int) -> np.ndarray:
        """Paste the mask into a (height, width) image; for tests and drawing."""
        out = np.zeros((height, width), dtype=bool)
        r = self.roi
        out[r.y:r.y_end, r.x:r.x_end] = self.mask
        return out
