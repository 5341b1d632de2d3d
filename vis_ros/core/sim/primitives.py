"""Ray intersection with the analytic primitives objects are built from.

Every function takes ray origins `o` and directions `d` in the primitive's
local frame, shape (N, 3), and returns the ray parameter `t` of the nearest
hit in front of the origin (inf where missed) and the local surface normal
(N, 3). Rays are not normalised: the caller scales them so `t` is camera z.
"""
from __future__ import annotations

import numpy as np

_MISS = np.inf


def _nearest_positive(*ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    stacked = np.stack(ts)
    stacked = np.where(stacked > 1e-9, stacked, _MISS)
    which = np.argmin(stacked, axis=0)
    return np.take_along_axis(stacked, which[None], 0)[0], which


def hit_box(o: np.ndarray, d: np.ndarray, half: np.ndarray):
    """Axis-aligned box centred at the origin with half extents `half` (slab test)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        t0 = (-half - o) * inv
        t1 = (half - o) * inv
    t_near = np.nanmax(np.minimum(t0, t1), axis=1)
    t_far = np.nanmin(np.maximum(t0, t1), axis=1)
    hit = (t_near <= t_far) & (t_far > 0) & (t_near > 0)
    t = np.where(hit, t_near, _MISS)
    p = o + d * np.where(hit, t, 0.0)[:, None]
    rel = np.abs(p) / half
    axis = np.argmax(rel, axis=1)
    normal = np.zeros_like(o)
    normal[np.arange(len(o)), axis] = np.sign(p[np.arange(len(o)), axis])
    return t, normal


def hit_ellipsoid(o: np.ndarray, d: np.ndarray, radii: np.ndarray):
    """Ellipsoid centred at the origin: a unit sphere after scaling by 1/radii."""
    os_, ds = o / radii, d / radii
    a = np.einsum("ij,ij->i", ds, ds)
    b = 2.0 * np.einsum("ij,ij->i", os_, ds)
    c = np.einsum("ij,ij->i", os_, os_) - 1.0
    disc = b * b - 4 * a * c
    sq = np.sqrt(np.maximum(disc, 0.0))
    t_a, t_b = (-b - sq) / (2 * a), (-b + sq) / (2 * a)
    t, _ = _nearest_positive(np.where(disc >= 0, t_a, _MISS), np.where(disc >= 0, t_b, _MISS))
    p = o + d * np.where(np.isfinite(t), t, 0.0)[:, None]
    normal = p / (radii * radii)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    return t, normal


def hit_frustum(o: np.ndarray, d: np.ndarray, r_bottom: float, r_top: float, height: float):
    """Capped cone frustum around the local +z axis from z=0 (r_bottom) to z=height (r_top).

    r_bottom == r_top is a cylinder. Solves x^2 + y^2 = (a + b z)^2 for the side
    and intersects the two cap discs. (Inside, `y` names the axis coordinate.)
    """
    a, b = r_bottom, (r_top - r_bottom) / height
    ox, oz, oy = o[:, 0], o[:, 1], o[:, 2]
    dx, dz, dy = d[:, 0], d[:, 1], d[:, 2]
    ra = a + b * oy
    qa = dx * dx + dz * dz - b * b * dy * dy
    qb = 2.0 * (ox * dx + oz * dz - b * dy * ra)
    qc = ox * ox + oz * oz - ra * ra
    disc = qb * qb - 4 * qa * qc
    sq = np.sqrt(np.maximum(disc, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        sides = [(-qb - sq) / (2 * qa), (-qb + sq) / (2 * qa)]
    side_ts = []
    for ts in sides:
        y = oy + ts * dy
        ok = (disc >= 0) & (y >= 0) & (y <= height) & np.isfinite(ts)
        side_ts.append(np.where(ok, ts, _MISS))
    cap_ts = []
    for y_cap, radius in ((0.0, r_bottom), (height, r_top)):
        with np.errstate(divide="ignore", invalid="ignore"):
            tc = (y_cap - oy) / dy
        px, pz = ox + tc * dx, oz + tc * dz
        ok = np.isfinite(tc) & (px * px + pz * pz <= radius * radius)
        cap_ts.append(np.where(ok, tc, _MISS))
    t, which = _nearest_positive(side_ts[0], side_ts[1], cap_ts[0], cap_ts[1])
    p = o + d * np.where(np.isfinite(t), t, 0.0)[:, None]
    radial = p[:, :2]
    radial_len = np.linalg.norm(radial, axis=1) + 1e-12
    normal = np.stack([radial[:, 0] / radial_len, radial[:, 1] / radial_len,
                       -b * np.ones_like(radial_len)], axis=1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    normal[which == 2] = (0.0, 0.0, -1.0)
    normal[which == 3] = (0.0, 0.0, 1.0)
    return t, normal


def hit_plane(o: np.ndarray, d: np.ndarray, normal: np.ndarray, offset: float):
    """Plane {x : normal . x = offset}, hit from either side."""
    denom = d @ normal
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (offset - o @ normal) / denom
    t = np.where((t > 1e-9) & np.isfinite(t), t, _MISS)
    return t, np.broadcast_to(normal, o.shape)
