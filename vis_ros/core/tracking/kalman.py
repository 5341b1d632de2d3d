"""Constant-velocity Kalman filter on boxes, batched over all tracks.

State per track: [cx, cy, w, h, vcx, vcy, vw, vh] in pixels and pixels per
second. Time steps are real seconds from image stamps, so dropped frames
just mean a longer prediction. Noise scales with box height (as in SORT /
ByteTrack): a near object moves more pixels than a far one.

The four box coordinates never mix: the transition couples each coordinate
only with its own velocity, and every noise term is diagonal. So the 8x8
covariance is four independent 2x2 blocks, stored as (N, 3, 4) arrays of
[position variance, position-velocity covariance, velocity variance] per
coordinate, and predict / update are closed-form elementwise expressions
(core/tracking/constant_velocity.py),
exactly the matrix filter's result at a fraction of its cost (no 8x8
products, no matrix inverse): the tracker runs them every frame. Where the C
kernels are built (core/native/tracking.c), predict with one dt for all
tracks and correct_rows run there, the same expressions in the same order.
"""
from __future__ import annotations

import numpy as np

from vis_ros.core import native
from vis_ros.core.tracking.constant_velocity import correct_block, predict_block

# Standard deviations relative to box height, per sqrt(second) for the process.
_POS_MEASUREMENT = 1.0 / 20.0
_POS_PROCESS = 1.0 / 4.0
_VEL_PROCESS = 1.0

PP, PV, VV = 0, 1, 2  # rows of a (3, 4) covariance


def initiate(boxes_cxcywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means (N, 8) and covariances (N, 3, 4) for new tracks at their first box."""
    n = len(boxes_cxcywh)
    means = np.zeros((n, 8))
    means[:, :4] = boxes_cxcywh
    h = np.maximum(boxes_cxcywh[:, 3], 1.0)[:, None]
    covs = np.zeros((n, 3, 4))
    covs[:, PP] = (2 * _POS_MEASUREMENT * h) ** 2
    covs[:, VV] = (10 * _POS_MEASUREMENT * h * 30) ** 2
    return means, covs


def predict(means: np.ndarray, covs: np.ndarray, dt) -> tuple[np.ndarray, np.ndarray]:
    """Advance every track by dt seconds (a scalar or one per track)."""
    if len(means) == 0:
        return means, covs
    if native.kernels is not None and np.ndim(dt) == 0:
        means, covs = np.ascontiguousarray(means, np.float64), np.ascontiguousarray(covs, np.float64)
        out, out_covs = np.empty_like(means), np.empty_like(covs)
        native.kernels.kalman_predict(means, covs, len(means), float(dt), _POS_PROCESS, _VEL_PROCESS, out, out_covs)
        return out, out_covs
    dt = np.asarray(dt, np.float64).reshape(-1, 1)
    h = np.maximum(means[:, 3:4], 1.0)
    out_covs = np.empty_like(covs)
    out_covs[:, PP], out_covs[:, PV], out_covs[:, VV] = predict_block(
        covs[:, PP], covs[:, PV], covs[:, VV], dt, (_POS_PROCESS * h) ** 2 * dt, 0.0, (_VEL_PROCESS * h) ** 2 * dt)
    out = means.copy()
    out[:, :4] += dt * means[:, 4:]
    np.maximum(out[:, 2:4], 1.0, out=out[:, 2:4])
    return out, out_covs


def update(means: np.ndarray, covs: np.ndarray, boxes_cxcywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correct matched tracks with their measured boxes (rows correspond)."""
    if len(means) == 0:
        return means, covs
    h = np.maximum(means[:, 3:4], 1.0)
    out_covs = np.empty_like(covs)
    gain_pos, gain_vel, (out_covs[:, PP], out_covs[:, PV], out_covs[:, VV]) = correct_block(
        covs[:, PP], covs[:, PV], covs[:, VV], (_POS_MEASUREMENT * h) ** 2)
    innovation = boxes_cxcywh - means[:, :4]
    out = means.copy()
    out[:, :4] += gain_pos * innovation
    out[:, 4:] += gain_vel * innovation
    return out, out_covs


def correct_rows(means: np.ndarray, covs: np.ndarray, rows: list[int], boxes_cxcywh: np.ndarray) -> None:
    """Correct the rows `rows` of the state arrays in place.

    `update` of the (distinct) rows `rows`, in place: the tracker's arrays hold all
    tracks, and gathering the matched rows out and scattering them back costs
    more per frame than the filter.
    """
    if not rows:
        return
    if native.kernels is not None and means.flags.c_contiguous and covs.flags.c_contiguous \
            and means.dtype == covs.dtype == np.float64:
        native.kernels.kalman_correct_rows(means, covs, len(means), np.asarray(rows, np.int64),
                                           np.ascontiguousarray(boxes_cxcywh, np.float64), len(rows),
                                           _POS_MEASUREMENT)
        return
    means[rows], covs[rows] = update(means[rows], covs[rows], boxes_cxcywh)


def cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    """Convert (cx, cy, w, h) boxes to (x0, y0, x1, y1)."""
    return np.concatenate([b[..., :2] - b[..., 2:4] / 2, b[..., :2] + b[..., 2:4] / 2], -1)


def xyxy_to_cxcywh(b: np.ndarray) -> np.ndarray:
    """Convert (x0, y0, x1, y1) boxes to (cx, cy, w, h)."""
    return np.concatenate([(b[..., :2] + b[..., 2:4]) / 2, b[..., 2:4] - b[..., :2]], -1)
