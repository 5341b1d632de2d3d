"""Constant-velocity Kalman filter on boxes, batched over all tracks.

State per track: [cx, cy, w, h, vcx, vcy, vw, vh] in pixels and pixels per
second. Time steps are real seconds from image stamps, so dropped frames
just mean a longer prediction. Noise scales with box height (as in SORT /
ByteTrack): a near object moves more pixels than a far one.
"""
from __future__ import annotations

import numpy as np

# Standard deviations relative to box height, per sqrt(second) for the process.
_POS_MEASUREMENT = 1.0 / 20.0
_POS_PROCESS = 1.0 / 4.0
_VEL_PROCESS = 1.0


def initiate(boxes_cxcywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means (N, 8) and covariances (N, 8, 8) for new tracks at their first box."""
    n = len(boxes_cxcywh)
    means = np.zeros((n, 8))
    means[:, :4] = boxes_cxcywh
    h = np.maximum(boxes_cxcywh[:, 3], 1.0)
    std = np.concatenate([np.repeat((2 * _POS_MEASUREMENT * h)[:, None], 4, 1),
                          np.repeat((10 * _POS_MEASUREMENT * h * 30)[:, None], 4, 1)], 1)
    covs = np.zeros((n, 8, 8))
    covs[:, np.arange(8), np.arange(8)] = std ** 2
    return means, covs


def predict(means: np.ndarray, covs: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Advance every track by its own dt (seconds)."""
    n = len(means)
    if n == 0:
        return means, covs
    dt = np.broadcast_to(np.asarray(dt, np.float64), (n,))
    f = np.broadcast_to(np.eye(8), (n, 8, 8)).copy()
    f[:, np.arange(4), np.arange(4) + 4] = dt[:, None]
    h = np.maximum(means[:, 3], 1.0)
    q = np.zeros((n, 8, 8))
    q[:, np.arange(4), np.arange(4)] = ((_POS_PROCESS * h) ** 2 * dt)[:, None]
    q[:, np.arange(4, 8), np.arange(4, 8)] = ((_VEL_PROCESS * h) ** 2 * dt)[:, None]
    means = np.einsum("nij,nj->ni", f, means)
    covs = f @ covs @ f.transpose(0, 2, 1) + q
    means[:, 2:4] = np.maximum(means[:, 2:4], 1.0)
    return means, covs


def update(means: np.ndarray, covs: np.ndarray, boxes_cxcywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correct matched tracks with their measured boxes (rows correspond)."""
    if len(means) == 0:
        return means, covs
    h = np.maximum(means[:, 3], 1.0)
    r = np.zeros((len(means), 4, 4))
    r[:, np.arange(4), np.arange(4)] = ((_POS_MEASUREMENT * h) ** 2)[:, None]
    s = covs[:, :4, :4] + r
    gain = covs[:, :, :4] @ np.linalg.inv(s)
    innovation = boxes_cxcywh - means[:, :4]
    means = means + np.einsum("nij,nj->ni", gain, innovation)
    covs = covs - gain @ covs[:, :4, :]
    return means, covs


def cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    return np.concatenate([b[..., :2] - b[..., 2:4] / 2, b[..., :2] + b[..., 2:4] / 2], -1)


def xyxy_to_cxcywh(b: np.ndarray) -> np.ndarray:
    return np.concatenate([(b[..., :2] + b[..., 2:4]) / 2, b[..., 2:4] - b[..., :2]], -1)
