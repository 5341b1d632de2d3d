"""Rigid transforms of 3D instances (what the node applies after a TF lookup)."""
from __future__ import annotations

import math

import numpy as np

from vis_ros.core.data.instances import Instance3D, Instance3DFrame


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


def quaternion_multiply(a, b) -> tuple[float, float, float, float]:
    """Return the Hamilton product a * b of quaternions (x, y, z, w)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz)


def transform_points(points: np.ndarray, rotation_q, translation) -> np.ndarray:
    """Rotate then translate (N, 3) points."""
    return points @ quaternion_matrix(rotation_q).T + np.asarray(translation)


def transform_frame3d(frame: Instance3DFrame, rotation_q, translation, frame_id: str) -> Instance3DFrame:
    """Instances expressed in `frame_id`, given the pose of the source frame in it."""
    r = quaternion_matrix(rotation_q)
    t = np.asarray(translation, np.float64)
    out = []
    for i in frame.instances:
        out.append(Instance3D(
            track_id=i.track_id, class_id=i.class_id, class_name=i.class_name, score=i.score,
            position=tuple(r @ np.asarray(i.position) + t),
            orientation=quaternion_multiply(rotation_q, i.orientation),
            size=i.size, velocity=tuple(r @ np.asarray(i.velocity)),
            num_points=i.num_points, confidence=i.confidence))
    return Instance3DFrame(frame.stamp_ns, frame_id, tuple(out))


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
