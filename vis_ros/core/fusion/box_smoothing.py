"""Per-track smoothing of a 3D box's yaw and extents.

A single frame's box is the minimum-area rectangle of the points depth sees:
its yaw wobbles with the noise, its sides may swap (a box of 0.2 x 0.1 at 0
degrees is the same box as 0.1 x 0.2 at 90), and a partial view (an edge of
the mask lost, an object half hidden) makes it smaller than the object.
Per track this keeps:

- yaw about the box's vertical (its -y axis) of the box's long horizontal
  side, measured against a horizontal reference of the frame the box is
  expressed in, unwrapped each frame to the direction (yaw + k * 180
  degrees) nearest the smoothed yaw, then smoothed (YAW_GAIN). The box's x
  axis is its long side, so a frame's rectangle never swaps its sides;
- extents: per axis, a quantile (SIZE_QUANTILE) of the last SIZE_WINDOW
  measurements, aligned to the smoothed yaw: one frame's outlier (a mask
  that bled onto the table) or a brief partial view moves it little.

In a world-fixed frame (target_frame) the reference is fixed, so the yaw of a
static object stays still while the camera moves; in the camera frame it is
the camera's, as the box is.
"""
from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field

import numpy as np

YAW_GAIN = 0.3
SIZE_WINDOW = 15  # frames (half a second at 30 Hz); 9 and a 0.7 quantile measured worse: docs/benchmarks.md
SIZE_QUANTILE = 0.5
QUARTER = math.pi / 2


@dataclass
class _Box:
    yaw: float
    sizes: collections.deque  # the last measured extents along the box's x (horizontal), y (vertical), z
    stamp_ns: int


def _wrap(angle: float) -> float:
    """Return `angle` in [-pi, pi)."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _horizontal_basis(up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two horizontal axes for `up`: the frame's x (or y, when x is near vertical) made horizontal, and up x it."""
    reference = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    h1 = reference - (reference @ up) * up
    h1 /= np.linalg.norm(h1)
    return h1, np.cross(up, h1)


@dataclass
class BoxSmoother:
    """Per-track yaw and extent smoothing (one state per track id); see the module docstring."""

    forget_s: float = 2.0  # drop a track's box after this long unseen
    window: int = SIZE_WINDOW
    quantile: float = SIZE_QUANTILE
    _boxes: dict = field(default_factory=dict)

    def update(self, track_id: int, stamp_ns: int, rotation: np.ndarray, size: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """Return the smoothed box axes (columns x, y = down, z) and extents after this measurement."""
        up = -np.asarray(rotation[:, 1], np.float64)
        up /= np.linalg.norm(up)
        h1, h2 = _horizontal_basis(up)
        x_axis = rotation[:, 0]
        measured_yaw = math.atan2(float(x_axis @ h2), float(x_axis @ h1))
        measured = np.asarray(size, np.float64)
        if measured[2] > measured[0]:  # the long side first: its direction is the yaw
            measured, measured_yaw = measured[[2, 1, 0]], measured_yaw + QUARTER
        state = self._boxes.get(track_id)
        if state is None or stamp_ns < state.stamp_ns or (stamp_ns - state.stamp_ns) * 1e-9 > self.forget_s:
            state = self._boxes[track_id] = _Box(measured_yaw, collections.deque(maxlen=self.window), stamp_ns)
        else:
            half_turns = round(_wrap(measured_yaw - state.yaw) / math.pi)
            yaw = measured_yaw - half_turns * math.pi  # the direction of the long side nearest the smoothed one
            state.yaw = _wrap(state.yaw + YAW_GAIN * _wrap(yaw - state.yaw))
            state.stamp_ns = stamp_ns
        state.sizes.append(measured)
        x = math.cos(state.yaw) * h1 + math.sin(state.yaw) * h2
        down = -up
        size = np.quantile(np.array(state.sizes), self.quantile, axis=0) if len(state.sizes) > 1 else measured.copy()
        return np.stack([x, down, np.cross(x, down)], axis=1), size

    def prune(self, stamp_ns: int) -> None:
        """Forget boxes of tracks not seen for a while before `stamp_ns`."""
        self._boxes = {k: s for k, s in self._boxes.items() if (stamp_ns - s.stamp_ns) * 1e-9 <= self.forget_s}
