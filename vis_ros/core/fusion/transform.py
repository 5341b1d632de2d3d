"""Rigid transforms: quaternions, matrices, and the pose of a camera in a target frame."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def quaternion_matrix(q) -> np.ndarray:
    """Return the 3x3 rotation matrix of a unit quaternion (x, y, z, w)."""
    x, y, z, w = q
    n = x * x + y * y + z * z + w * w
    if n < 1e-12:
        raise ValueError(f"quaternion {q} has zero norm")
    s = 2.0 / n
    return np.array([[1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w)],
                     [s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w)],
                     [s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y)]])


def matrix_quaternion(r: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation matrix (Shepperd's method, numerically stable)."""
    m = np.asarray(r, np.float64).tolist()  # plain floats: called per instance and frame
    trace = m[0][0] + m[1][1] + m[2][2]
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        return ((m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s, 0.25 * s)
    diagonal = (m[0][0], m[1][1], m[2][2])
    i = diagonal.index(max(diagonal))
    j, k = (i + 1) % 3, (i + 2) % 3
    s = 2.0 * math.sqrt(1.0 + m[i][i] - m[j][j] - m[k][k])
    q = [0.0, 0.0, 0.0, (m[k][j] - m[j][k]) / s]
    q[i] = 0.25 * s
    q[j] = (m[j][i] + m[i][j]) / s
    q[k] = (m[k][i] + m[i][k]) / s
    return tuple(q)


@dataclass(frozen=True)
class Rigid:
    """A rigid transform: x -> R x + t (R from the unit quaternion `rotation`, x, y, z, w)."""

    rotation: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    translation: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def matrix(self) -> np.ndarray:
        """Return the 3x3 rotation."""
        return quaternion_matrix(self.rotation)

    def compose(self, inner: Rigid) -> Rigid:
        """Return self after inner: x -> self(inner(x)); the identity on either side changes no bit."""
        if inner == IDENTITY:
            return self
        if self == IDENTITY:
            return inner
        translation = self.matrix @ np.asarray(inner.translation) + np.asarray(self.translation)
        return Rigid(_quaternion_product(self.rotation, inner.rotation), tuple(float(v) for v in translation))

    def inverse(self) -> Rigid:
        """Return the transform that undoes this one."""
        x, y, z, w = self.rotation
        r = self.matrix.T
        return Rigid((-x, -y, -z, w), tuple(float(v) for v in -(r @ np.asarray(self.translation))))

    def points(self, points: np.ndarray) -> np.ndarray:
        """Apply to (N, 3) points."""
        return points @ self.matrix.T + np.asarray(self.translation)


IDENTITY = Rigid()


def _quaternion_product(a, b) -> tuple[float, float, float, float]:
    """Return the Hamilton product a * b of unit quaternions (x, y, z, w): rotation b, then a."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz)
