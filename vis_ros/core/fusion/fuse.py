"""Per-instance 3D estimate from its mask and aligned metric depth.

Steps per instance: erode the mask edge (flying pixels live there), take
stride-subsampled valid depths (0 / NaN already removed by the codec), keep
a band around the median of width k * MAD, optionally keep only the nearest
dominant cluster along depth (an object in front of a wall), back-project
(REP-103 optical frame: x right, y down, z forward), then:
  centroid   mean of the kept points;
  box        minimum-area rectangle of the points in the plane orthogonal to
             the scene's vertical (`up`, from the support plane; camera -y by
             default), height along `up` from robust percentiles, grown away
             from the camera to be at least as deep as wide (depth sees only
             the front); box axes: x horizontal, y down, z away from the camera.
Instances with too few points are reported with confidence 0, not dropped;
the others with a confidence in (0, 1] (_confidence: point support, depth
coverage of the mask, not cut by the image edge).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from vis_ros.core import native
from vis_ros.core.fusion.camera import PinholeCamera
from vis_ros.core.fusion.support_plane import CAMERA_UP


@dataclass(frozen=True)
class FusionConfig:
    """How masked depth becomes a 3D box: robust statistics and validity limits, in metres and pixels."""

    max_points: int = 500  # stride-subsample above this: cost bound
    erode_px: int = 2
    mad_k: float = 3.0
    min_band_m: float = 0.01
    cluster_gap_m: float = 0.05
    nearest_cluster: bool = True
    min_points: int = 20
    min_depth_m: float = 0.1
    max_depth_m: float = 10.0
    complete_depth: bool = True  # extend the visible box to an object at least as deep as wide

    def __post_init__(self) -> None:
        """Refuse limits that would leave no valid point or an empty depth range."""
        if self.max_points < 10 or self.min_points < 3:
            raise ValueError(f"max_points >= 10 and min_points >= 3 needed, got {self.max_points}, {self.min_points}")
        if not 0 <= self.erode_px <= 20:
            raise ValueError(f"erode_px must be in [0, 20], got {self.erode_px}")
        if not 0 < self.min_depth_m < self.max_depth_m:
            raise ValueError(f"need 0 < min_depth_m < max_depth_m, got {self.min_depth_m}, {self.max_depth_m}")


@dataclass(frozen=True)
class Estimate3D:
    """One instance's 3D estimate in the camera optical frame, in metres."""

    centroid: np.ndarray  # (3,) metres, camera optical frame
    box_center: np.ndarray
    box_size: np.ndarray  # along the box's x, y, z axes
    rotation: np.ndarray  # (3, 3) box axes (columns) in the camera frame; box y = down
    num_points: int
    confidence: float  # 0 = not enough valid depth
    points: np.ndarray  # (N, 3) kept points (for PointCloud2)

    @property
    def quaternion(self) -> tuple[float, float, float, float]:
        """(x, y, z, w) of `rotation`."""
        from vis_ros.core.fusion.transform import matrix_quaternion

        return matrix_quaternion(self.rotation)


def _empty(n: int = 0) -> Estimate3D:
    zero = np.zeros(3)
    return Estimate3D(zero, zero, zero, np.eye(3), n, 0.0, np.zeros((0, 3)))


def _cross(a, b) -> np.ndarray:
    """3-vector cross product (np.cross costs ~30 us of overhead per call)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _plane_basis(up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two horizontal axes: camera x projected on the plane, and the one away from the camera."""
    return _plane_basis_of(np.asarray(up, np.float64).tobytes())


@functools.lru_cache(maxsize=8)  # every instance of a frame shares one vertical
def _plane_basis_of(up_bytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    up = np.frombuffer(up_bytes, np.float64)
    e1 = np.array([1.0, 0.0, 0.0]) - up[0] * up
    e1 /= math.sqrt(e1 @ e1)
    e2 = _cross(up, e1)
    e1.flags.writeable = e2.flags.writeable = False  # shared between calls
    return e1, e2


def _as_floats(vector: np.ndarray) -> tuple[float, float, float]:
    return float(vector[0]), float(vector[1]), float(vector[2])


def _kept_depths(z: np.ndarray, cfg: FusionConfig) -> tuple[np.ndarray, float]:
    """Which depths to keep (median band, nearest cluster), and their median."""
    order = np.sort(z)  # one sort serves the median and the cluster split
    median = order[order.size // 2]
    mad = np.partition(np.abs(z - median), z.size // 2)[z.size // 2] * 1.4826
    keep = np.abs(z - median) <= max(cfg.mad_k * mad, cfg.min_band_m)
    if cfg.nearest_cluster and z.size > 1 and float(order[-1] - order[0]) > cfg.cluster_gap_m:
        gaps = np.flatnonzero(np.diff(order) > cfg.cluster_gap_m)
        if gaps.size:
            bounds = np.concatenate(([0], gaps + 1, [order.size]))
            for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
                if stop - start >= 0.25 * order.size:  # nearest cluster holding a quarter of the points
                    keep &= (z >= order[start]) & (z <= order[stop - 1])
                    break
    return keep, float(median)


def _masked_points(roi, mask: np.ndarray, depth_m: np.ndarray, camera: PinholeCamera, cfg: FusionConfig,
                   basis: tuple[np.ndarray, np.ndarray, np.ndarray]):
    """Return the instance's kept 3D points and what the box needs of them, in numpy (the C kernel's reference).

    Returns (points, flat, heights, centroid, median depth, eroded px, valid
    depths before the band), or the
    point count when there are too few. `flat` is the points on the horizontal
    axes (float32, for minAreaRect), `heights` along `up`.
    """
    e1, e2, up = basis
    mask = np.asarray(mask, dtype=bool)
    eroded_px = 0
    if cfg.erode_px and min(mask.shape) > 2 * cfg.erode_px + 2:
        kernel = np.ones((2 * cfg.erode_px + 1, 2 * cfg.erode_px + 1), np.uint8)
        # Border value 0: the ROI edge is the mask's edge, which must erode too.
        eroded = cv2.erode(mask.view(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT,
                           borderValue=0).view(bool)
        if np.count_nonzero(eroded) >= cfg.min_points:
            mask, eroded_px = eroded, cfg.erode_px
    pixels = cv2.findNonZero(mask.view(np.uint8))  # (N, 1, 2) x, y, row-major; 4x np.nonzero's speed
    if pixels is None:
        return 0
    pixels = pixels.reshape(-1, 2)
    if len(pixels) > cfg.max_points:
        pixels = pixels[::int(math.ceil(len(pixels) / cfg.max_points))]
    u, v = pixels[:, 0] + roi.x, pixels[:, 1] + roi.y
    z = depth_m[v, u]
    valid = (z > cfg.min_depth_m) & (z < cfg.max_depth_m)
    u, v, z = u[valid], v[valid], z[valid].astype(np.float64)
    if z.size < cfg.min_points:
        return int(z.size)
    valid_count = int(z.size)
    keep, z_typical = _kept_depths(z, cfg)
    u, v, z = u[keep], v[keep], z[keep]
    if z.size < cfg.min_points:
        return int(z.size)
    points = np.stack([(u - camera.cx) * z / camera.fx, (v - camera.cy) * z / camera.fy, z], axis=1)
    centroid = np.ones(len(points)) @ points / len(points)  # mean(axis=0) at a quarter of its cost
    flat = np.stack([points @ e1, points @ e2], axis=1).astype(np.float32)
    return points, flat, points @ up, centroid, z_typical, eroded_px, valid_count


def _masked_points_c(roi, mask: np.ndarray, depth_m: np.ndarray, camera: PinholeCamera, cfg: FusionConfig,
                     basis: tuple[np.ndarray, np.ndarray, np.ndarray]):
    """Return what _masked_points returns, in one C call (native.kernels.instance_points)."""
    e1, e2, up = basis
    mask = np.ascontiguousarray(mask, dtype=bool)
    points = np.empty((cfg.max_points, 3))
    flat = np.empty((cfg.max_points, 2), np.float32)
    heights = np.empty(cfg.max_points)
    n, valid, eroded_px, median, *centroid = native.kernels.instance_points(
        mask.view(np.uint8), mask.shape, roi.x, roi.y, depth_m, depth_m.shape,
        (camera.cx, camera.cy, camera.fx, camera.fy), cfg.erode_px, cfg.max_points, cfg.min_points,
        cfg.min_depth_m, cfg.max_depth_m, cfg.mad_k, cfg.min_band_m, cfg.cluster_gap_m, cfg.nearest_cluster,
        tuple(e1), tuple(e2), tuple(up), points, flat, heights)
    if valid < cfg.min_points:
        return valid
    if n < cfg.min_points:
        return n
    return points[:n], flat[:n], heights[:n], np.array(centroid), median, eroded_px, valid


def _confidence(kept: int, valid: int, roi, shape: tuple[int, int], cfg: FusionConfig) -> float:
    """How far to trust a box, in (0, 1]: the product of three shares.

    - support: enough points (full from 5 * min_points on);
    - agreement: the share of the mask's valid depths inside the band around
      the nearest surface (a mask spilling onto what is behind, flying
      pixels, a second object in the mask all lower it);
    - whole: 0.5 where the mask touches the image's edge (the object goes on
      outside the view, so the box is too small and off-centre).
    `vis-ros eval --3d` shows the error by confidence quartile.
    """
    support = min(1.0, kept / (5.0 * cfg.min_points))
    agreement = kept / valid if valid else 0.0
    height, width = shape
    cut = roi.x <= 0 or roi.y <= 0 or roi.x + roi.width >= width or roi.y + roi.height >= height
    return float(support * agreement * (0.5 if cut else 1.0))


def fuse_instance(roi, mask: np.ndarray, depth_m: np.ndarray, camera: PinholeCamera,
                  cfg: FusionConfig = FusionConfig(), up: np.ndarray | None = None) -> Estimate3D:
    """roi/mask in depth-image pixels (mask local to roi); depth in metres, 0 = invalid.

    `up` is the scene's vertical in the camera frame (see SupportPlane); the box
    is a minimum-area rectangle in the plane orthogonal to it. Default: camera -y.
    The points come from one C call where the kernels are built and the depth
    is float32 (depth_from_msg's), else from numpy: the same values, the sums
    in another order (within 1e-12).
    """
    up = CAMERA_UP if up is None else np.asarray(up, np.float64)
    e1, e2 = _plane_basis(up)
    c_path = native.kernels is not None and depth_m.dtype == np.float32 and depth_m.flags.c_contiguous
    found = (_masked_points_c if c_path else _masked_points)(roi, mask, depth_m, camera, cfg, (e1, e2, up))
    if not isinstance(found, tuple):
        return _empty(found)
    points, flat, heights, centroid, z_typical, eroded_px, valid = found
    (ra, rb), (w, d), angle = cv2.minAreaRect(flat)
    if angle > 45.0:  # canonical: box x axis is the one closest to the camera's x axis
        w, d, angle = d, w, angle - 90.0
    elif angle < -45.0:
        w, d, angle = d, w, angle + 90.0
    k_low, k_high = int(0.01 * (heights.size - 1)), int(0.99 * (heights.size - 1))
    heights = np.partition(heights, (k_low, k_high))
    h_low, h_high = heights[k_low], heights[k_high]
    # Points are pixel centres of a mask eroded by eroded_px: the silhouette
    # reaches (eroded_px + 0.5) pixels further on each side. Grow the extents
    # seen across the line of sight (width, height) by that, at the object's depth.
    w += (2 * eroded_px + 1) * z_typical / camera.fx
    grow_h = (eroded_px + 0.5) * z_typical / camera.fy
    h_low, h_high = h_low - grow_h, h_high + grow_h
    # The box's frame from here on in plain floats: on 3-vectors each numpy call costs
    # more than the arithmetic (the same IEEE operations, in the same order).
    (e1x, e1y, e1z), (e2x, e2y, e2z), (ux, uy, uz) = _as_floats(e1), _as_floats(e2), _as_floats(up)
    t = math.radians(angle)
    cos_t, sin_t = math.cos(t), math.sin(t)
    xx, xy, xz = cos_t * e1x + sin_t * e2x, cos_t * e1y + sin_t * e2y, cos_t * e1z + sin_t * e2z
    zx, zy, zz = xy * -uz - xz * -uy, xz * -ux - xx * -uz, xx * -uy - xy * -ux  # x_axis cross -up
    ca, cb = float(ra), float(rb)
    if cfg.complete_depth and d < w:
        # Depth sees only the front: assume the object is at least as deep as it is
        # wide (true of balls, cans, cups, bottles, most boxes) and grow the box
        # away from the camera along its own depth axis.
        away_a, away_b = zx * e1x + zy * e1y + zz * e1z, zx * e2x + zy * e2y + zz * e2z
        if away_a * ca + away_b * cb < 0:
            away_a, away_b = -away_a, -away_b
        ca, cb = ca + away_a * (w - d) / 2, cb + away_b * (w - d) / 2
        d = w
    mid = float(h_low + h_high)
    centre = np.array([ca * e1x + cb * e2x + ux * mid / 2, ca * e1y + cb * e2y + uy * mid / 2,
                       ca * e1z + cb * e2z + uz * mid / 2])
    rotation = np.array([[xx, -ux, zx], [xy, -uy, zy], [xz, -uz, zz]])
    confidence = _confidence(len(points), valid, roi, depth_m.shape, cfg)
    return Estimate3D(centroid=centroid, box_center=centre, box_size=np.array([w, float(h_high - h_low), d]),
                      rotation=rotation, num_points=len(points),
                      confidence=confidence, points=points)
