"""The tracker's per-object records.

One track's record, a removed one's gallery entry, and a detection prepared
for association: the tracker's per-object data (tracker.py holds the steps).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from vis_ros.core.data.detections import Detection
from vis_ros.core.data.instances import PixelBox, TrackState


class Appearance(NamedTuple):
    """What a track looks like, for the object memory: its colour descriptor and every class it was detected as."""

    descriptor: np.ndarray | None
    classes: frozenset[int]


class LiveMask(NamedTuple):
    """A live track's current mask in its box, for propagation between keyframes."""

    track_id: int
    roi: PixelBox
    mask: np.ndarray
    area: int  # mask pixels


@dataclass(eq=False)
class Track:
    """One live track: its current mask, Kalman row (kept by the tracker), votes and appearance."""

    track_id: int
    birth_frame: int
    roi: PixelBox
    mask: np.ndarray
    score: float
    last_update_ns: int
    state: TrackState = TrackState.TENTATIVE
    hits: int = 1
    class_votes: dict = field(default_factory=dict)
    class_names: dict = field(default_factory=dict)
    descriptor: np.ndarray | None = None
    _area: int = field(default=0, repr=False)
    _area_of: np.ndarray | None = field(default=None, repr=False)
    class_id: int = -1  # the class with the most votes (summed scores): kept, as association reads it per frame

    @property
    def area(self) -> int:
        """Mask pixels, counted once per mask (association reads it every frame)."""
        if self._area_of is not self.mask:
            self._area, self._area_of = int(np.count_nonzero(self.mask)), self.mask
        return self._area

    def take_mask(self, roi: PixelBox, mask: np.ndarray, area: int) -> None:
        """Take a new mask whose pixel count the caller already knows."""
        self.roi, self.mask, self._area, self._area_of = roi, mask, area, mask

    def vote(self, class_id: int, class_name: str, score: float) -> None:
        """Add a detection's score to its class; the class with the most votes is the track's."""
        self.class_votes[class_id] = self.class_votes.get(class_id, 0.0) + score
        self.class_names[class_id] = class_name
        self.class_id = max(self.class_votes, key=self.class_votes.get)


@dataclass(frozen=True)
class LostTrack:
    """A removed track kept for re-identification."""

    track: Track
    lost_ns: int
    mean: np.ndarray  # its Kalman state when it was lost


class MaskedDetection:
    """A detection prepared for association.

    A detection with its mask area cached (association reads it per pair) and
    its row in the frame's (K, 4) box array, which the tracker builds once.
    """

    def __init__(self, detection: Detection, row: int):
        self.det, self.row = detection, row
        self.roi, self.mask = detection.roi, detection.mask
        self.area = detection.mask_area if detection.mask_area is not None \
            else int(np.count_nonzero(detection.mask))
