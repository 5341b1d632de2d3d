"""The figures of `vis-ros eval --3d` from its scored rows: per distance band, by confidence, jitter, speed, goals.

A row is one published Instance3D scored against its object (box_scoring.compare),
with its track, object, frame, sequence, confidence and published speed.
"""
from __future__ import annotations

import math

import numpy as np

BANDS = ((0.5, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 4.0))
GOAL_STATIC_SPEED_P90 = 0.05  # m/s: a static object seen from a moving camera, in the world frame
GOALS = {"centre_over_range_p50": 0.01, "centre_over_range_p90": 0.03, "size_error_p90": 0.15,
         "yaw_p50_deg": 5.0, "yaw_p90_deg": 15.0, "iou_share_over_0.5": 0.8}


def _percentiles(values, scale: float = 1.0) -> dict | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"p50": round(float(np.percentile(values, 50)) * scale, 4),
            "p90": round(float(np.percentile(values, 90)) * scale, 4), "n": len(values)}


def summarize(rows: list[dict]) -> dict:
    """Return per distance band, and over 0.5-3 m, the figures three_d_eval's docstring lists."""
    report = {}
    for lo, hi in BANDS + ((0.5, 3.0),):
        band = [r for r in rows if lo <= r["range"] < hi]
        used = [r for r in band if r["confidence"] > 0]
        if not band:
            continue
        sizes = np.array([r["size"] for r in used]) if used else np.zeros((0, 3))
        report[f"{lo:g}-{hi:g} m"] = {
            "objects_scored": len(band), "usable_share": round(len(used) / len(band), 3),
            "centre_error_mm": _percentiles([r["centre"] for r in used], 1000.0),
            "centre_error_over_range": _percentiles([r["centre_over_range"] for r in used]),
            "size_error_long_side": _percentiles(sizes[:, 0]) if len(sizes) else None,
            "size_error_short_side": _percentiles(sizes[:, 1]) if len(sizes) else None,
            "size_error_height": _percentiles(sizes[:, 2]) if len(sizes) else None,
            "yaw_error_deg": _percentiles([r["yaw"] for r in used]),
            "iou_3d": _percentiles([r["iou"] for r in used]),
            "iou_share_over_0.5": round(sum(r["iou"] >= 0.5 for r in used) / len(used), 3) if used else None,
        }
    return report


def by_confidence(rows: list[dict]) -> list[dict]:
    """Return the centre error and IoU medians per quartile of published confidence."""
    used = sorted((r for r in rows if r["confidence"] > 0), key=lambda r: r["confidence"])
    if len(used) < 8:
        return []
    quarters = np.array_split(np.arange(len(used)), 4)
    return [{"confidence": [round(used[q[0]]["confidence"], 3), round(used[q[-1]]["confidence"], 3)],
             "centre_over_range_p50": round(float(np.median([used[i]["centre_over_range"] for i in q])), 4),
             "iou_p50": round(float(np.median([used[i]["iou"] for i in q])), 3)} for q in quarters]


def jitter(rows: list[dict]) -> dict:
    """Std over frames, per object near 1 m (0.8-1.2), of centre (mm), size (mm) and yaw (degrees); medians.

    Yaw only of objects whose footprint has a long side (as for the yaw error).
    """
    by_object = {}
    for r in rows:
        if r["confidence"] > 0 and 0.8 <= r["range"] <= 1.2:
            by_object.setdefault((r["object"], r["track"]), []).append(r)
    centre, size, yaw = [], [], []
    for series in by_object.values():
        if len(series) < 5:
            continue
        centres = np.array([r["centre_vector"] for r in series])
        centre.append(1000 * float(np.linalg.norm(centres.std(axis=0))))
        size.append(1000 * float(np.linalg.norm(np.array([r["size_vector"] for r in series]).std(axis=0))))
        if series[0]["yaw"] is None:  # round or square footprint: no yaw to hold still
            continue
        axes = np.array([r["yaw_axis"] for r in series])
        reference = axes[0]
        angles = [math.degrees(math.acos(min(abs(float(a @ reference)), 1.0))) for a in axes]
        yaw.append(float(np.std(angles)))
    med = (lambda v: round(float(np.median(v)), 2) if v else None)  # noqa: E731
    return {"objects": len(centre), "centre_mm": med(centre), "size_mm": med(size), "yaw_deg": med(yaw),
            "objects_with_yaw": len(yaw)}


def against_goals(band: dict) -> dict:
    """Each goal of GOALS against a band's figures: the goal, the measured value, met, and by how much it is missed."""
    p90 = [band[f"size_error_{axis}"]["p90"] for axis in ("long_side", "short_side", "height")
           if band.get(f"size_error_{axis}")]
    measured = {"centre_over_range_p50": (band["centre_error_over_range"] or {}).get("p50"),
                "centre_over_range_p90": (band["centre_error_over_range"] or {}).get("p90"),
                "size_error_p90": max(p90) if p90 else None,
                "yaw_p50_deg": (band["yaw_error_deg"] or {}).get("p50"),
                "yaw_p90_deg": (band["yaw_error_deg"] or {}).get("p90"),
                "iou_share_over_0.5": band["iou_share_over_0.5"]}
    report = {}
    for name, goal in GOALS.items():
        value = measured[name]
        at_least = name == "iou_share_over_0.5"  # the others are errors: at most
        met = value is not None and (value >= goal if at_least else value <= goal)
        missed_by = None if met or value is None else round(abs(value - goal), 4)
        report[name] = {"goal": goal, "measured": value, "met": met, "missed_by": missed_by}
    return report


def speeds_after(rows: list[dict], settle: int) -> dict | None:
    """Return the published speed (m/s) of objects that do not move, from each track's `settle`th frame on."""
    first: dict = {}
    for r in rows:
        first.setdefault((r["sequence"], r["track"]), r["frame"])
    return _percentiles([r["speed"] for r in rows
                         if r["confidence"] > 0 and r["frame"] - first[(r["sequence"], r["track"])] >= settle])
