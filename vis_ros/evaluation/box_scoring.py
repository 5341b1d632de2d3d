"""One published 3D box against its object's true box: centre, size per axis, yaw, 3D IoU.

Both boxes are upright about a vertical `up` (the scene's, in whatever frame
both are given). The estimate's box has x and z horizontal and y down
(core/fusion); the truth's has x and y horizontal and z up (core/sim). Sides
are matched by length (the estimate's axes follow the object's footprint,
not the camera); yaw is scored only where the footprint has a long side
(YAW_MIN_ASPECT), folded to 0..90 degrees; the IoU is of the footprint
polygons in the horizontal plane times the vertical overlap.
"""
from __future__ import annotations

import math

import numpy as np

YAW_MIN_ASPECT = 1.3  # the long side at least this much longer: a yaw to get right


def _quaternion_matrix(q) -> np.ndarray:
    from vis_ros.core.fusion.transform import quaternion_matrix

    return quaternion_matrix(q)


def _horizontal(axis: np.ndarray, up: np.ndarray) -> np.ndarray:
    flat = axis - (axis @ up) * up
    norm = np.linalg.norm(flat)
    return flat / norm if norm > 1e-9 else flat


def _footprint(center, a1, a2, s1, s2, e1, e2) -> np.ndarray:
    corners = []
    for u, v in ((1, 1), (-1, 1), (-1, -1), (1, -1)):
        p = center + a1 * (u * s1 / 2) + a2 * (v * s2 / 2)
        corners.append((p @ e1, p @ e2))
    return np.array(corners)


def _clip(subject: np.ndarray, clipper: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman: the part of convex polygon `subject` inside convex polygon `clipper` (both CCW or CW)."""
    def inside(p, a, b, sign):
        return sign * ((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])) >= 0

    def cut(p, q, a, b):
        d1, d2 = q - p, b - a
        den = d1[0] * d2[1] - d1[1] * d2[0]
        if abs(den) < 1e-12:
            return p
        t = ((a[0] - p[0]) * d2[1] - (a[1] - p[1]) * d2[0]) / den
        return p + t * d1

    sign = 1.0 if _area_signed(clipper) >= 0 else -1.0
    output = list(subject)
    for i in range(len(clipper)):
        a, b = clipper[i], clipper[(i + 1) % len(clipper)]
        points, output = output, []
        if not points:
            break
        for j in range(len(points)):
            p, q = points[j], points[(j + 1) % len(points)]
            if inside(q, a, b, sign):
                if not inside(p, a, b, sign):
                    output.append(cut(p, q, a, b))
                output.append(q)
            elif inside(p, a, b, sign):
                output.append(cut(p, q, a, b))
    return np.array(output) if output else np.zeros((0, 2))


def _area_signed(polygon: np.ndarray) -> float:
    if len(polygon) < 3:
        return 0.0
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def box_iou_3d(est: dict, gt: dict, up: np.ndarray) -> float:
    """IoU of two upright boxes: {center, a1, a2, s1, s2, h}, horizontal axes a1, a2 and height h along `up`."""
    e1 = _horizontal(gt["a1"], up)
    e2 = np.cross(up, e1)
    p = _footprint(est["center"], est["a1"], est["a2"], est["s1"], est["s2"], e1, e2)
    q = _footprint(gt["center"], gt["a1"], gt["a2"], gt["s1"], gt["s2"], e1, e2)
    inter = abs(_area_signed(_clip(p, q)))
    lo = max(est["center"] @ up - est["h"] / 2, gt["center"] @ up - gt["h"] / 2)
    hi = min(est["center"] @ up + est["h"] / 2, gt["center"] @ up + gt["h"] / 2)
    volume = inter * max(hi - lo, 0.0)
    union = abs(_area_signed(p)) * est["h"] + abs(_area_signed(q)) * gt["h"] - volume
    return volume / union if union > 0 else 0.0


def compare(instance, truth, up: np.ndarray, rng: float | None = None) -> dict:
    """Errors of one published Instance3D against its object's truth, both in one frame with vertical `up`.

    `rng` is the object's distance from the camera (default: from the frame's
    origin, the camera's in the camera frame).
    """
    rotation = _quaternion_matrix(instance.orientation)
    size = np.asarray(instance.size, float)
    # the estimate's box: x horizontal, y down (the scene's vertical), z horizontal
    est_h = [(_horizontal(rotation[:, 0], up), size[0]), (_horizontal(rotation[:, 2], up), size[2])]
    est_h.sort(key=lambda item: -item[1])
    # the truth's: object x, y horizontal, z up
    gt_h = [(_horizontal(truth.rotation[:, 0], up), truth.box_size[0]),
            (_horizontal(truth.rotation[:, 1], up), truth.box_size[1])]
    gt_h.sort(key=lambda item: -item[1])
    centre = np.asarray(instance.position, float)
    gt_centre = np.asarray(truth.box_center, float)
    error = float(np.linalg.norm(centre - gt_centre))
    rng = float(np.linalg.norm(gt_centre)) if rng is None else rng
    sizes = [abs(est_h[0][1] - gt_h[0][1]) / gt_h[0][1], abs(est_h[1][1] - gt_h[1][1]) / gt_h[1][1],
             abs(size[1] - truth.box_size[2]) / truth.box_size[2]]
    yaw = None
    if gt_h[0][1] >= YAW_MIN_ASPECT * gt_h[1][1]:
        cos = abs(float(est_h[0][0] @ gt_h[0][0]))
        yaw = math.degrees(math.acos(min(cos, 1.0)))  # folded: a box's long axis either way
    est_box = {"center": centre, "a1": est_h[0][0], "a2": est_h[1][0], "s1": est_h[0][1], "s2": est_h[1][1],
               "h": size[1]}
    gt_box = {"center": gt_centre, "a1": gt_h[0][0], "a2": gt_h[1][0], "s1": gt_h[0][1], "s2": gt_h[1][1],
              "h": truth.box_size[2]}
    return {"range": rng, "centre": error, "centre_over_range": error / rng, "size": sizes, "yaw": yaw,
            "iou": box_iou_3d(est_box, gt_box, up), "confidence": float(instance.confidence),
            "yaw_axis": est_h[0][0], "size_vector": size, "centre_vector": centre}
