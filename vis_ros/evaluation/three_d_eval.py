"""3D as users get it, end to end: the node's own 3D output against the simulator's full object boxes.

Unlike the fusion evaluation (ground-truth masks, one frame at a time), this
runs the node's stream runner at its defaults on sim sequences (the model's
masks, tracking, keyframes, the temporal smoothing) with the sensor's depth
model (noise growing with the square of the distance, holes, flying pixels,
core/sim/sensor.py), a still and a moving camera, and compares each published
Instance3D with the full 3D box of the object its track covers (mask IoU >= 0.5
in that frame):

- centre error (and over the range), per distance band (0.5-1, 1-2, 2-3, 3-4 m);
- size error per axis: the longer and the shorter horizontal side and the
  height, matched by length (the estimate's horizontal axes follow the
  object's footprint, not the camera);
- yaw error about the vertical, for objects whose footprint is not close to
  square or round (sides differing by 30% or more), folded to 0..90 degrees;
- 3D IoU of the two upright boxes (footprint polygons in the true horizontal
  plane, times the vertical overlap);
- the share of tracked objects with a usable estimate (confidence > 0);
- for the static case, the jitter (std over frames) of centre, size and yaw;
- the error against the published confidence, by confidence quartile.

Only objects at least 70% visible are scored: the visible share is the
object's pixels in the frame over its pixels rendered alone (occluders and
the image border both count). The world's vertical in the camera frame comes
from the simulated camera's pose.
"""
from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np

from vis_ros.core.streaming.depth_pairing import DepthSample

BANDS = ((0.5, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 4.0))
MIN_VISIBLE = 0.7
MIN_IOU = 0.5
YAW_MIN_ASPECT = 1.3
SEED_BASE = 8_100_000
WORLD, CAMERA_FRAME = "world", "camera_optical"
GOAL_STATIC_SPEED_P90 = 0.05  # m/s: a static object seen from a moving camera, in the world frame
GOALS = {"centre_over_range_p50": 0.01, "centre_over_range_p90": 0.03, "size_error_p90": 0.15,
         "yaw_p50_deg": 5.0, "yaw_p90_deg": 15.0, "iou_share_over_0.5": 0.8}


class _Header:
    def __init__(self, stamp_ns: int):
        self.stamp = type("Stamp", (), {"sec": stamp_ns // 10**9, "nanosec": stamp_ns % 10**9})()


def depth_sample(frame, camera) -> DepthSample:
    """Return the depth + CameraInfo pair a camera driver would send with this sim frame."""
    depth = frame.depth_mm
    depth_msg = type("Depth", (), {"header": _Header(frame.stamp_ns), "encoding": "16UC1",
                                   "height": depth.shape[0], "width": depth.shape[1], "step": depth.strides[0],
                                   "is_bigendian": 0, "data": depth.tobytes()})()
    info = type("Info", (), {"k": [camera.fx, 0, camera.cx, 0, camera.fy, camera.cy, 0, 0, 1],
                             "width": camera.width, "height": camera.height, "distortion_model": "plumb_bob",
                             "d": [0.0] * 5})()
    return DepthSample.of(depth_msg, info)


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


def _match(result2d, frame) -> dict[int, int]:
    """Track id -> object id, for published instances covering an object with mask IoU >= MIN_IOU."""
    areas = dict(zip(*np.unique(frame.instance_ids, return_counts=True), strict=True))
    matches = {}
    for instance in result2d.instances:
        box = instance.box
        ids = frame.instance_ids[box.y:box.y_end, box.x:box.x_end][instance.mask]
        if ids.size == 0:
            continue
        values, counts = np.unique(ids[ids > 0], return_counts=True)
        if values.size == 0:
            continue
        k = int(np.argmax(counts))
        iou = counts[k] / (instance.mask.sum() + areas[values[k]] - counts[k])
        if iou >= MIN_IOU:
            matches[instance.track_id] = int(values[k])
    return matches


def _visible_share(scene, frame, t: float, rays) -> dict[int, float]:
    from vis_ros.core.sim.render import render_frame

    shares = {}
    for obj in scene.objects:
        seen = int((frame.instance_ids == obj.object_id).sum())
        if seen == 0:
            continue
        alone = render_frame(replace(scene, objects=(obj,)), t, rays)
        shares[obj.object_id] = seen / max(int((alone.instance_ids == obj.object_id).sum()), 1)
    return shares


def _up_in_camera(scene, t: float) -> np.ndarray:
    rotation, _ = scene.camera_pose(t)  # columns: optical x, y, z in the world
    return rotation.T @ np.array([0.0, 0.0, 1.0])


def _camera_in_world(scene, t: float):
    from vis_ros.core.fusion.transform import Rigid, matrix_quaternion

    rotation, position = scene.camera_pose(t)  # columns: optical x, y, z in the world
    return Rigid(matrix_quaternion(rotation), tuple(float(v) for v in position))


def _truth_in_world(truth, camera):
    """Return the object's truth moved from the camera frame into the world (what compare() reads of it)."""
    return replace(truth, rotation=camera.matrix @ truth.rotation,
                   box_center=camera.points(np.asarray(truth.box_center)[None])[0])


def _sequence(segmenter, seed: int, frames: int, options, keyframe_intervals, every: int,
              world: bool = False) -> dict[int, list[dict]]:
    """Run each keyframe interval over one sequence; return the scored comparisons per interval.

    `world`: the runner fuses in the target frame "world", from the simulated
    camera's pose at each stamp (as TF would give it), and the errors are
    measured there; velocities are kept for the static-object check.
    """
    from vis_ros.core.config.factories import build_runner, depth_sources
    from vis_ros.core.config.settings import node_defaults
    from vis_ros.core.pipeline.offline import CollectingSink, frame_in
    from vis_ros.core.sim.render import _camera_rays
    from vis_ros.core.sim.scene import random_scene
    from vis_ros.core.sim.sequence import generate_sequence
    from vis_ros.core.streaming.notices import Notices
    from vis_ros.core.streaming.transforms import TransformBuffer

    scene = random_scene(seed, options)
    camera, it = generate_sequence(seed, frames, options)
    sim = list(it)
    rays = _camera_rays(scene)
    visible = {f.index: _visible_share(scene, f, f.index / options.fps, rays) for f in sim if f.index % every == 0}
    out = {}
    for interval in keyframe_intervals:
        settings = node_defaults(use_depth=True, keyframe_interval=interval)
        depth = depth_sources(settings, [("depth", "camera_info")])
        transforms = TransformBuffer(WORLD) if world else None
        runner = build_runner(settings, segmenter, Notices(logging.getLogger("vis-ros eval --3d")), depth=depth,
                              transforms=transforms)
        sink = CollectingSink()
        scored = []
        for f in sim:
            depth[0].add(depth_sample(f, camera))
            pose = _camera_in_world(scene, f.index / options.fps)
            if transforms is not None:
                transforms.add(WORLD, CAMERA_FRAME, f.stamp_ns, pose)
            runner.run_batch([frame_in(0, f.rgb, f.stamp_ns, CAMERA_FRAME)], sink)
            sink.take()
            if f.index % every or not sink.results_3d:
                sink.results_3d.clear()
                continue
            (result,) = sink.results_3d
            sink.results_3d.clear()
            truths = {o.object_id: o for o in f.objects}
            up = _up_in_camera(scene, f.index / options.fps)
            if world:
                truths = {k: _truth_in_world(o, pose) for k, o in truths.items()}
                up = np.array([0.0, 0.0, 1.0])
            for track, object_id in _match(result.frame, f).items():
                if visible[f.index].get(object_id, 0.0) < MIN_VISIBLE:
                    continue
                instance = next(i for i in result.fused.frame.instances if i.track_id == track)
                rng = float(np.linalg.norm(next(o for o in f.objects if o.object_id == object_id).box_center))
                row = compare(instance, truths[object_id], up, rng) if instance.confidence > 0 else {
                    "confidence": 0.0, "range": rng}
                row["speed"] = float(np.linalg.norm(instance.velocity))
                row.update(track=track, object=object_id, frame=f.index, sequence=seed)
                scored.append(row)
        out[interval] = scored
    return out


def _percentiles(values, scale: float = 1.0) -> dict | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"p50": round(float(np.percentile(values, 50)) * scale, 4),
            "p90": round(float(np.percentile(values, 90)) * scale, 4), "n": len(values)}


def summarize(rows: list[dict]) -> dict:
    """Per distance band, and over 0.5-3 m: the figures of the module docstring."""
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


def _by_confidence(rows: list[dict]) -> list[dict]:
    used = sorted((r for r in rows if r["confidence"] > 0), key=lambda r: r["confidence"])
    if len(used) < 8:
        return []
    quarters = np.array_split(np.arange(len(used)), 4)
    return [{"confidence": [round(used[q[0]]["confidence"], 3), round(used[q[-1]]["confidence"], 3)],
             "centre_over_range_p50": round(float(np.median([used[i]["centre_over_range"] for i in q])), 4),
             "iou_p50": round(float(np.median([used[i]["iou"] for i in q])), 3)} for q in quarters]


def _jitter(rows: list[dict]) -> dict:
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


def _speeds(rows: list[dict], settle: int) -> dict | None:
    """Return the published speed (m/s) of objects that do not move, from each track's `settle`th frame on."""
    first: dict = {}
    for r in rows:
        first.setdefault((r["sequence"], r["track"]), r["frame"])
    return _percentiles([r["speed"] for r in rows
                         if r["confidence"] > 0 and r["frame"] - first[(r["sequence"], r["track"])] >= settle])


def evaluate_3d(model: str = "", sequences: int = 8, frames: int = 30, every: int = 3) -> dict:
    """Score the node's 3D, frame by frame and keyframe-3, still and moving camera; see the module docstring."""
    from vis_ros.core.config.factories import build_segmenter
    from vis_ros.core.config.settings import node_defaults
    from vis_ros.core.sim.scene import SimOptions

    segmenter = build_segmenter(node_defaults(model=model))  # one engine for all runs: they differ in keyframes
    moving = SimOptions(objects=6, object_speed=0.1, camera_motion=0.25)
    cases = {"still camera": (SimOptions(objects=6, object_speed=0.1), False),
             "moving camera": (moving, False),
             "moving camera, in the world frame": (moving, True)}
    report = {"model": segmenter.model_path.name, "precision": segmenter.precision, "goals": GOALS,
              "sequences_per_case": sequences, "frames": frames, "scored_every": every}
    for name, (options, world) in cases.items():
        rows = {1: [], 3: []}
        for i in range(sequences):
            for interval, scored in _sequence(segmenter, SEED_BASE + i, frames, options, (1, 3), every,
                                              world).items():
                rows[interval] += scored
        for interval, scored in rows.items():
            report[f"{name}, keyframe every {interval}"] = {"bands": summarize(scored),
                                                           "by_confidence": _by_confidence(scored)}
    main = report["still camera, keyframe every 1"]["bands"].get("0.5-3 m")
    if main:
        report["goals, still camera, frame by frame, 0.5-3 m"] = against_goals(main)
    still = SimOptions(objects=6, object_speed=0.0)
    static_rows = []
    for i in range(max(sequences // 2, 1)):
        static_rows += _sequence(segmenter, SEED_BASE + 500 + i, frames, still, (1,), 1)[1]
    report["static jitter near 1 m"] = _jitter(static_rows)
    panning = SimOptions(objects=6, object_speed=0.0, camera_motion=0.25)
    speeds = {}
    for world in (False, True):
        rows = []
        for i in range(max(sequences // 2, 1)):
            rows += _sequence(segmenter, SEED_BASE + 700 + i, frames, panning, (1,), 1, world)[1]
        speeds["world frame" if world else "camera frame"] = _speeds(rows, settle=10)
    report["static objects, camera moving at 0.25 m/s: published speed (m/s)"] = {
        **speeds, "goal_p90_world_frame": GOAL_STATIC_SPEED_P90}
    return report
