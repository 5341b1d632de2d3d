"""Per-track temporal smoothing of 3D centroids, with a velocity estimate.

A constant-velocity Kalman filter per track, on real dt from image stamps.
The axes share one noise model (depth-dependent measurement noise, white
acceleration process noise), so each axis is the same 2-state filter and the
covariance is a shared 2x2, kept as three floats: a few scalar operations
per track and frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vis_ros.core.tracking.constant_velocity import correct_block, predict_block


@dataclass
class _State:
    x: np.ndarray  # (3,) position
    v: np.ndarray  # (3,) velocity
    p: tuple[float, float, float]  # per-axis covariance: position, position-velocity, velocity
    stamp_ns: int


@dataclass
class CentroidSmoother:
    """Per-track constant-velocity smoothing of 3D centroids (one filter per track id)."""

    accel_std: float = 0.5  # m/s^2: how fast objects may change velocity
    base_noise_m: float = 0.004  # centroid measurement noise at 1 m ...
    noise_per_m2: float = 0.002  # ... growing with the square of depth
    forget_s: float = 2.0  # drop a track's filter after this long unseen
    _states: dict = field(default_factory=dict)

    def update(self, track_id: int, stamp_ns: int, measured: np.ndarray, depth_m: float
               ) -> tuple[np.ndarray, np.ndarray]:
        """Smoothed position and velocity of `track_id` after this measurement, made at `depth_m` from the camera.

        `measured` may be in any frame (the camera's, or a world-fixed target
        frame); its noise is the depth sensor's at `depth_m`.
        """
        z = np.asarray(measured, np.float64)
        r = (self.base_noise_m + self.noise_per_m2 * depth_m ** 2) ** 2
        s = self._states.get(track_id)
        if s is None or (stamp_ns - s.stamp_ns) * 1e-9 > self.forget_s or stamp_ns < s.stamp_ns:
            s = _State(z.copy(), np.zeros(3), (r, 0.0, 1.0), stamp_ns)
            self._states[track_id] = s
            return s.x.copy(), s.v.copy()
        dt = (stamp_ns - s.stamp_ns) * 1e-9
        a2 = self.accel_std ** 2  # white acceleration process noise
        predicted = predict_block(*s.p, dt, a2 * dt ** 4 / 4, a2 * dt ** 3 / 2, a2 * dt ** 2)
        gain_x, gain_v, s.p = correct_block(*predicted, r)
        innovation = z - (s.x + s.v * dt)
        s.x = s.x + s.v * dt + gain_x * innovation
        s.v = s.v + gain_v * innovation
        s.stamp_ns = stamp_ns
        return s.x.copy(), s.v.copy()

    def prune(self, stamp_ns: int) -> None:
        """Forget filters of tracks not seen for a while before `stamp_ns`."""
        self._states = {k: s for k, s in self._states.items()
                        if (stamp_ns - s.stamp_ns) * 1e-9 <= self.forget_s}
