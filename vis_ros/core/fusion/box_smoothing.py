"""Per-track smoothing of a 3D box's yaw and extents.

A single frame's box is the minimum-area rectangle of the points depth sees:
its yaw wobbles with the noise, its sides may swap (a box of 0.2 x 0.1 at 0
degrees is the same box as 0.1 x 0.2 at 90), and a partial view (an edge of
the mask lost, an object half hidden) makes it smaller than the object.
Per track this keeps:

- yaw about the box's vertical (its -y axis), measured against a horizontal
  reference of the frame the box is expressed in, unwrapped each frame to the
  one of the four equivalent (yaw + k * 90 degrees, sides swapped for odd k)
  nearest the smoothed yaw, then smoothed (YAW_GAIN): no axis swaps;
- extents that grow fast (GROW_GAIN) and shrink slowly (SHRINK_GAIN): a
  known box is not shrunk by a partial view, and a first estimate that was
  too small catches up within a few frames.

In a world-fixed frame (target_frame) the reference is fixed, so the yaw of a
static object stays still while the camera moves; in the camera frame it is
the camera's, as the box is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

YAW_GAIN = 0.3
GROW_GAIN = 0.5
SHRINK_GAIN = 0.05
QUARTER = math.pi / 2


@dataclass
class _Box:
    yaw: float
    size: np.ndarray  # along the box's x (horizontal), y (vertical), z (horizontal)
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
        state = self._boxes.get(track_id)
        if state is None or stamp_ns < state.stamp_ns or (stamp_ns - state.stamp_ns) * 1e-9 > self.forget_s:
            state = self._boxes[track_id] = _Box(measured_yaw, measured.copy(), stamp_ns)
        else:
            quarter_turns = round(_wrap(measured_yaw - state.yaw) / QUARTER)
            yaw = measured_yaw - quarter_turns * QUARTER  # the equivalent box nearest the smoothed one
            if quarter_turns % 2:
                measured = measured[[2, 1, 0]]
            state.yaw = _wrap(state.yaw + YAW_GAIN * _wrap(yaw - state.yaw))
            gains = np.where(measured > state.size, GROW_GAIN, SHRINK_GAIN)
            state.size = state.size + gains * (measured - state.size)
            state.stamp_ns = stamp_ns
        x = math.cos(state.yaw) * h1 + math.sin(state.yaw) * h2
        down = -up
        return np.stack([x, down, np.cross(x, down)], axis=1), state.size.copy()

    def prune(self, stamp_ns: int) -> None:
        """Forget boxes of tracks not seen for a while before `stamp_ns`."""
        self._boxes = {k: s for k, s in self._boxes.items() if (stamp_ns - s.stamp_ns) * 1e-9 <= self.forget_s}
