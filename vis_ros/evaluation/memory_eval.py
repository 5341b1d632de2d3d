"""The object memory, measured: objects that leave the view and come back, beside the tracker alone.

Each sequence is a sim scene of static objects seen for SEEN_S, then the
camera slides sideways out of view (four half-widths of its view), stays
away 2, 10 or 60 s, and slides back (core/sim/scene.CameraSweep). While it
is away one object is taken off the table, and a look-alike of another
(same class and colours) is put down elsewhere. The node's stream runner
runs at its defaults in the world frame (the simulated camera's pose at each
stamp, as TF would give it), once with the object memory and once without,
on the same frames. Scored on the 3D stage's frames (where a restored ID
shows from its first frame), an output ID covering an object with mask IoU
>= 0.5 belongs to it in that frame:

- an object seen before the camera left and there when it is back
  re-enters; it is restored when the ID it has most often after the return
  is the one it had most often before, and the time to restore runs from
  its first frame back to its first frame with that ID;
- a wrong restoration is an object back in view (the look-alike included)
  whose ID after the return is another object's ID from before;
- IDF1 over the whole sequence (trackeval), and on sequences without
  re-entries (still camera, moving objects) with and without the memory;
- the memory's update time and size with 0 to `capacity` objects remembered.
"""
from __future__ import annotations

import collections
import time
import tracemalloc
from dataclasses import replace

import numpy as np

from vis_ros.core.sim.scene import SimOptions
from vis_ros.evaluation.three_d_eval import CAMERA_FRAME, WORLD, sim_runner

SEED_BASE = 8_300_000
AWAY_S = (2.0, 10.0, 60.0)
SEEN_S, SLIDE_S, AFTER_S = 2.0, 4.0, 3.0
SIM = SimOptions(width=320, height=240, fps=15.0, objects=5, object_speed=0.0)
GOALS = {"restored_after_10_s": 0.95, "restored_after_60_s": 0.90, "wrong_share_max": 0.01}


def memory_scene(seed: int, away_s: float, options: SimOptions = SIM):
    """Return (scene, removed object id, look-alike id or None, its original's id); see the module docstring."""
    from vis_ros.core.sim.scene import CameraSweep, random_scene

    scene = random_scene(seed, options)
    k = scene.intrinsics
    half_width = float(np.linalg.norm(scene.camera_target - scene.camera_position)) * (k.width / 2) / k.fx
    sweep = CameraSweep(4.0 * half_width, SEEN_S, SLIDE_S, away_s)
    middle = SEEN_S + SLIDE_S + away_s / 2
    objects = list(scene.objects)
    objects[0] = replace(objects[0], present_s=(-np.inf, middle))
    original = objects[1]
    heading = (scene.camera_target - scene.camera_position)[:2]
    heading /= np.linalg.norm(heading)
    side = np.array([-heading[1], heading[0]])
    rng = np.random.default_rng(seed + 1)
    lookalike = None
    for _ in range(200):
        xy = scene.camera_target[:2] + heading * rng.uniform(-0.4, 0.7) * half_width \
            + side * rng.uniform(-0.9, 0.9) * half_width
        clear = all(np.linalg.norm(xy - o.start_xy) > o.shape.footprint_radius + original.shape.footprint_radius
                    + 0.05 for o in objects)
        if clear and np.linalg.norm(xy - original.start_xy) > 0.3:
            lookalike = replace(original, object_id=len(objects) + 1, start_xy=xy, present_s=(middle, np.inf))
            objects.append(lookalike)
            break
    scene = replace(scene, objects=tuple(objects), camera_sweep=sweep)
    return scene, objects[0].object_id, lookalike.object_id if lookalike else None, original.object_id


def _runner(segmenter, memory: bool):
    from vis_ros.core.config.settings import node_defaults

    settings = node_defaults(use_depth=True, target_frame=WORLD, object_memory=memory)
    return sim_runner(segmenter, settings, True, "vis-ros eval --memory")


def run_sequence(segmenter, scene, seed: int, frames: int, options: SimOptions = SIM):
    """Run the runner with and without the memory over the scene; per run, per frame {output ID: object id}.

    Returns ({True: [...], False: [...]} of (frame index, matches), {True: recorder, False: recorder},
    the memory's counts at the end).
    """
    from vis_ros.core.pipeline.offline import CollectingSink, frame_in
    from vis_ros.core.sim.ground_truth import gt_masks
    from vis_ros.core.sim.render import _camera_rays
    from vis_ros.core.sim.sequence import render_sim_frame
    from vis_ros.evaluation.three_d_eval import _camera_in_world, _match, depth_sample
    from vis_ros.evaluation.tracking_metrics import SequenceRecorder, published_masks

    runs = {on: (*_runner(segmenter, on), CollectingSink()) for on in (True, False)}
    matches = {on: [] for on in runs}
    recorders = {on: SequenceRecorder() for on in runs}
    rays = _camera_rays(scene)
    for index in range(frames):
        f = render_sim_frame(scene, seed, index, options, rays)
        pose = _camera_in_world(scene, index / options.fps)
        truth = gt_masks(f.instance_ids, ((o.object_id, o.visible_pixels) for o in f.objects))
        for on, (runner, depth, transforms, sink) in runs.items():
            depth.add(depth_sample(f, scene.intrinsics))
            transforms.add(WORLD, CAMERA_FRAME, f.stamp_ns, pose)
            runner.run_batch([frame_in(0, f.rgb, f.stamp_ns, CAMERA_FRAME)], sink)
            sink.take()
            for result in sink.results_3d:
                matches[on].append((index, _match(result.frame, f)))
                recorders[on].add(truth, published_masks(result.frame.instances, f.rgb.shape[0], f.rgb.shape[1]))
            sink.results_3d.clear()
    return matches, recorders, runs[True][0].three_d.memory.counts


def score_reentries(matches, fps: float, left_s: float, back_s: float) -> dict:
    """Score one run's matches; see the module docstring."""
    before, after = collections.defaultdict(collections.Counter), collections.defaultdict(list)
    for index, frame_matches in matches:
        t = index / fps
        for output_id, object_id in frame_matches.items():
            if t < left_s:
                before[object_id][output_id] += 1
            elif t >= back_s:
                after[object_id].append((t, output_id))
    old_id = {obj: ids.most_common(1)[0][0] for obj, ids in before.items()}
    reentries, restored, wrong, delays = 0, 0, 0, []
    for obj, seen in after.items():
        now_id = collections.Counter(i for _, i in seen).most_common(1)[0][0]
        if now_id in old_id.values() and old_id.get(obj) != now_id:
            wrong += 1
        if obj not in old_id:
            continue
        reentries += 1
        if now_id == old_id[obj]:
            restored += 1
            delays.append(next(t for t, i in seen if i == old_id[obj]) - seen[0][0])
    return {"reentries": reentries, "restored": restored, "wrong": wrong, "objects_back": len(after),
            "delays_s": delays, "ids_after": {o: collections.Counter(i for _, i in s).most_common(1)[0][0]
                                              for o, s in after.items()}, "ids_before": old_id}


def _summary(rows: list[dict]) -> dict:
    reentries = sum(r["reentries"] for r in rows)
    back = sum(r["objects_back"] for r in rows)
    delays = [d for r in rows for d in r["delays_s"]]
    return {"reentries": reentries, "restored": sum(r["restored"] for r in rows),
            "restored_share": sum(r["restored"] for r in rows) / max(reentries, 1),
            "objects_back": back, "wrong": sum(r["wrong"] for r in rows),
            "wrong_share": sum(r["wrong"] for r in rows) / max(back, 1),
            "time_to_restore_s": {"p50": float(np.median(delays)) if delays else None,
                                  "max": float(max(delays)) if delays else None},
            "lookalikes_given_an_old_id": sum(r["lookalike_wrong"] for r in rows),
            "lookalikes": sum(r["lookalikes"] for r in rows)}


def memory_cost(capacity: int = 200, repeats: int = 25) -> dict:
    """Measure the memory's update time (ms) and size (kB) with 0, a quarter and all of `capacity` remembered.

    A frame of 10 objects at 30 Hz, their tracks either in their first second
    (each compared with the remembered objects) or older (the usual case).
    """
    from vis_ros.core.data.instances import Instance3D, Instance3DFrame
    from vis_ros.core.fusion.memory_config import MemoryConfig
    from vis_ros.core.fusion.memory_records import CameraView
    from vis_ros.core.fusion.object_memory import ObjectMemory
    from vis_ros.core.fusion.transform import Rigid
    from vis_ros.core.sim.scene import default_camera
    from vis_ros.core.tracking.track import Appearance

    camera = default_camera(640, 480)
    view = CameraView(camera, Rigid(), np.full((480, 640), 2.0, np.float32))
    rng = np.random.default_rng(0)

    def instance(track, position):
        return Instance3D(track, 1, "cup", 0.9, tuple(position), (0.0, 0.0, 0.0, 1.0), (0.1, 0.1, 0.1),
                          (0.0, 0.0, 0.0), 100, 0.8)

    live = [instance(100_000 + i, (0.1 * i - 0.5, 0.0, 2.0)) for i in range(10)]
    looks = {i.track_id: Appearance(rng.dirichlet(np.ones(72)), frozenset({1})) for i in live}
    out = {}
    for count in (0, capacity // 4, capacity):
        tracemalloc.start()
        memory = ObjectMemory(MemoryConfig(capacity=capacity))
        stamp = 1_700_000_000 * 10**9
        for i in range(count):  # seen once behind the camera, then gone: remembered, never in view
            gone = instance(i + 1, (3.0 * (i % 15) - 21.0, 3.0 * (i // 15) - 21.0, -3.0))  # apart: none restored
            memory.update(0, Instance3DFrame(stamp, WORLD, (gone,)), view, {gone.track_id: looks[100_000]})
            memory.update(0, Instance3DFrame(stamp, WORLD, ()), view, {})
        size_kb = tracemalloc.get_traced_memory()[0] / 1024
        tracemalloc.stop()
        timings = {}
        for case, start_s in (("new_tracks", 0.0), ("known_tracks", 2.0)):  # tracks in their first second, or older
            frames = [Instance3DFrame(stamp + int((start_s + k / 30) * 1e9), WORLD, tuple(live))
                      for k in range(repeats + 1)]
            memory.update(0, frames[0], view, looks)
            t0 = time.perf_counter()
            for frame in frames[1:]:
                memory.update(0, frame, view, looks)
            timings[f"update_ms_{case}"] = (time.perf_counter() - t0) / repeats * 1e3
        out[str(count)] = {**timings, "size_kB": size_kb, "remembered": memory.counts.remembered}
    return out


def evaluate_memory(model: str = "", sequences: int = 6, away_s=AWAY_S, plain_sequences: int = 6,
                    plain_frames: int = 90) -> dict:
    """Measure the object memory beside the tracker alone; see the module docstring."""
    from vis_ros.core.config.factories import build_segmenter
    from vis_ros.core.config.settings import node_defaults
    from vis_ros.core.sim.scene import random_scene
    from vis_ros.evaluation.tracking_metrics import summarize

    segmenter = build_segmenter(node_defaults(model=model))
    report = {"model": segmenter.model_path.name, "precision": segmenter.precision, "goals": GOALS,
              "sequences_per_case": sequences, "image": f"{SIM.width}x{SIM.height} at {SIM.fps:g} Hz",
              "objects": SIM.objects}
    for away in away_s:
        rows, recorders, forgotten = {True: [], False: []}, {True: [], False: []}, 0
        for i in range(sequences):
            seed = SEED_BASE + i
            scene, _removed, lookalike, _original = memory_scene(seed, away)
            frames = int(round((scene.camera_sweep.end_s + AFTER_S) * SIM.fps))
            matches, recorded, counts = run_sequence(segmenter, scene, seed, frames)
            forgotten += counts.forgotten
            for on in (True, False):
                row = score_reentries(matches[on], SIM.fps, SEEN_S, scene.camera_sweep.end_s)
                row["lookalikes"] = int(lookalike in row["ids_after"])
                row["lookalike_wrong"] = int(row["lookalikes"] and row["ids_after"][lookalike]
                                             in row["ids_before"].values())
                rows[on].append(row)
                recorders[on].append(recorded[on])
        report[f"away {away:g} s"] = {
            "with memory": {**_summary(rows[True]), "IDF1": summarize(recorders[True])["IDF1"],
                            "forgotten": forgotten},
            "tracker alone": {**_summary(rows[False]), "IDF1": summarize(recorders[False])["IDF1"]}}
    plain = SimOptions(width=SIM.width, height=SIM.height, fps=SIM.fps, objects=6, object_speed=0.15)
    recorders = {True: [], False: []}
    for i in range(plain_sequences):
        seed = SEED_BASE + 500 + i
        _, recorded, _ = run_sequence(segmenter, random_scene(seed, plain), seed, plain_frames, plain)
        for on in recorders:
            recorders[on].append(recorded[on])
    report["no re-entries (still camera, objects moving up to 0.15 m/s)"] = {
        "IDF1 with memory": summarize(recorders[True])["IDF1"],
        "IDF1 tracker alone": summarize(recorders[False])["IDF1"], "sequences": plain_sequences,
        "frames": plain_frames}
    report["cost by objects remembered"] = memory_cost()
    report["against goals"] = {
        name: {"goal": goal, "measured": report[key]["with memory"][field]}
        for name, goal, key, field in (
            ("restored after 10 s", GOALS["restored_after_10_s"], "away 10 s", "restored_share"),
            ("restored after 60 s", GOALS["restored_after_60_s"], "away 60 s", "restored_share"),
            ("wrong restorations after 60 s", GOALS["wrong_share_max"], "away 60 s", "wrong_share"))
        if key in report}
    return report
