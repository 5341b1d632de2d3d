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
from dataclasses import replace

import numpy as np

from vis_ros.core.streaming.depth_pairing import DepthSample
from vis_ros.evaluation.box_scoring import compare
from vis_ros.evaluation.three_d_figures import (
    GOAL_STATIC_SPEED_P90,
    GOALS,
    against_goals,
    by_confidence,
    jitter,
    speeds_after,
    summarize,
)

MIN_VISIBLE = 0.7
MIN_IOU = 0.5
SEED_BASE = 8_100_000
WORLD, CAMERA_FRAME = "world", "camera_optical"

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


def sim_runner(segmenter, settings, world: bool, purpose: str):
    """Return a stream runner for one sim camera with depth, its depth source, and its TF (None: camera frame).

    With `world` the runner fuses in the target frame "world", fed by the
    caller with the simulated camera's pose at each stamp, as TF would give it.
    """
    from vis_ros.core.config.factories import build_runner, depth_sources
    from vis_ros.core.streaming.notices import Notices
    from vis_ros.core.streaming.transforms import TransformBuffer

    depth = depth_sources(settings, [("depth", "camera_info")])
    transforms = TransformBuffer(WORLD) if world else None
    runner = build_runner(settings, segmenter, Notices(logging.getLogger(purpose)), depth=depth,
                          transforms=transforms)
    return runner, depth[0], transforms


def _sequence(segmenter, seed: int, frames: int, options, keyframe_intervals, every: int,
              world: bool = False) -> dict[int, list[dict]]:
    """Run each keyframe interval over one sequence; return the scored comparisons per interval.

    `world`: the runner fuses in the target frame "world", from the simulated
    camera's pose at each stamp (as TF would give it), and the errors are
    measured there; velocities are kept for the static-object check.
    """
    from vis_ros.core.config.settings import node_defaults
    from vis_ros.core.pipeline.offline import CollectingSink, frame_in
    from vis_ros.core.sim.render import _camera_rays
    from vis_ros.core.sim.scene import random_scene
    from vis_ros.core.sim.sequence import generate_sequence

    scene = random_scene(seed, options)
    camera, it = generate_sequence(seed, frames, options)
    sim = list(it)
    rays = _camera_rays(scene)
    visible = {f.index: _visible_share(scene, f, f.index / options.fps, rays) for f in sim if f.index % every == 0}
    out = {}
    for interval in keyframe_intervals:
        runner, depth, transforms = sim_runner(segmenter, node_defaults(use_depth=True, keyframe_interval=interval),
                                               world, "vis-ros eval --3d")
        sink = CollectingSink()
        scored = []
        for f in sim:
            depth.add(depth_sample(f, camera))
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
                                                           "by_confidence": by_confidence(scored)}
    main = report["still camera, keyframe every 1"]["bands"].get("0.5-3 m")
    if main:
        report["goals, still camera, frame by frame, 0.5-3 m"] = against_goals(main)
    still = SimOptions(objects=6, object_speed=0.0)
    static_rows = []
    for i in range(max(sequences // 2, 1)):
        static_rows += _sequence(segmenter, SEED_BASE + 500 + i, frames, still, (1,), 1)[1]
    report["static jitter near 1 m"] = jitter(static_rows)
    panning = SimOptions(objects=6, object_speed=0.0, camera_motion=0.25)
    speeds = {}
    for world in (False, True):
        rows = []
        for i in range(max(sequences // 2, 1)):
            rows += _sequence(segmenter, SEED_BASE + 700 + i, frames, panning, (1,), 1, world)[1]
        speeds["world frame" if world else "camera frame"] = speeds_after(rows, settle=10)
    report["static objects, camera moving at 0.25 m/s: published speed (m/s)"] = {
        **speeds, "goal_p90_world_frame": GOAL_STATIC_SPEED_P90}
    return report
