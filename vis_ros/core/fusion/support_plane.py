"""The scene's vertical from its support plane (table, floor), fitted in depth.

Boxes are oriented about the vertical; a camera pitched towards a table does
not see the vertical along its own y axis. The plane is fitted by RANSAC to
background depth (pixels outside all instance boxes, subsampled) and
smoothed over frames; without a good plane the camera's -y is used.
"""
from __future__ import annotations

import numpy as np

from vis_ros.core.fusion.camera import PinholeCamera

CAMERA_UP = np.array([0.0, -1.0, 0.0])  # REP-103 optical frame: y points down
CAMERA_UP.flags.writeable = False  # shared default: never modified in place


class SupportPlane:
    """The dominant plane under the objects (table, floor), to orient their boxes upright."""

    def __init__(self, step: int = 16, iterations: int = 64, inlier_m: float = 0.01,
                 min_inlier_share: float = 0.3, smoothing: float = 0.3, seed: int = 0):
        self.step, self.iterations, self.inlier_m = step, iterations, inlier_m
        self.min_inlier_share, self.smoothing = min_inlier_share, smoothing
        self._rng = np.random.default_rng(seed)
        self.up = CAMERA_UP.copy()
        self.fitted = False

    def update(self, depth_m: np.ndarray, camera: PinholeCamera, rois) -> np.ndarray:
        """Refit on this frame's background; returns the current up vector (camera frame)."""
        s = self.step
        grid = depth_m[::s, ::s]
        usable = grid > 0.1
        for r in rois:  # background only: drop every grid point inside an instance box
            usable[-(-r.y // s):-(-r.y_end // s), -(-r.x // s):-(-r.x_end // s)] = False
        gv, gu = np.nonzero(usable)
        v, u = gv * s, gu * s
        if v.size < 50:
            return self.up
        z = depth_m[v, u].astype(np.float64)
        pts = np.stack([(u - camera.cx) * z / camera.fx, (v - camera.cy) * z / camera.fy, z], 1)
        # All hypotheses at once: one (N, K) matrix of point-plane distances.
        triples = pts[self._rng.integers(0, len(pts), (self.iterations, 3))]
        normals = np.cross(triples[:, 1] - triples[:, 0], triples[:, 2] - triples[:, 0])
        norms = np.linalg.norm(normals, axis=1)
        ok = norms > 1e-9
        if not ok.any():
            return self.up
        normals = normals[ok] / norms[ok, None]
        offsets = np.einsum("kj,kj->k", normals, triples[ok, 0])
        # Distances in float32 (millimetre-level inlier test, metres-scale values):
        # half the memory traffic of the (N, K) matrix, computed in place.
        distances = pts.astype(np.float32) @ normals.T.astype(np.float32)
        distances -= offsets.astype(np.float32)
        np.abs(distances, out=distances)
        counts = np.count_nonzero(distances < self.inlier_m, axis=0)
        best = int(np.argmax(counts))
        best_normal, best_count = normals[best], int(counts[best])
        if best_count < self.min_inlier_share * len(pts):
            return self.up
        if best_normal @ CAMERA_UP < 0:
            best_normal = -best_normal
        if best_normal @ CAMERA_UP < 0.3:  # a wall, not a floor: keep what we had
            return self.up
        blended = best_normal if not self.fitted else (1 - self.smoothing) * self.up + self.smoothing * best_normal
        self.up = blended / np.linalg.norm(blended)
        self.fitted = True
        return self.up
