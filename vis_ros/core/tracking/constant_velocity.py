"""Constant-velocity Kalman arithmetic for one coordinate, shared by 2D and 3D filters.

The 2-state (position, velocity) Kalman block shared by the box tracker
(tracking/kalman.py) and the 3D centroid smoother (fusion/smoothing.py).

Both are constant-velocity filters whose coordinates never mix, so each
coordinate's covariance is one 2x2 block [[pp, pv], [pv, vv]] and predict /
correct are a few closed-form expressions. They work elementwise, on floats
or on arrays of blocks alike.
"""
from __future__ import annotations


def predict_block(pp, pv, vv, dt, q_pp, q_pv, q_vv):
    """Covariance after dt: F P F^T + Q with F = [[1, dt], [0, 1]]."""
    return pp + dt * (2.0 * pv + dt * vv) + q_pp, pv + dt * vv + q_pv, vv + q_vv


def correct_block(pp, pv, vv, r):
    """Return the position and velocity gains and the corrected covariance.

    Position and velocity gains for a position measured with variance r, and
    the corrected covariance (pp, pv, vv).
    """
    s = pp + r
    gain_pos, gain_vel = pp / s, pv / s
    return gain_pos, gain_vel, (pp - gain_pos * pp, pv - gain_pos * pv, vv - gain_vel * pv)
