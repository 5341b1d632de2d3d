"""Tracking quality and speed on held-out sim sequences.

Run the segmentation + tracking pipeline on held-out sim sequences with
occlusions, crossings and objects entering and leaving; score it with
trackeval and time it.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from vis_ros.core.config.factories import build_runner, build_segmenter
from vis_ros.core.config.settings import NodeSettings, node_defaults
from vis_ros.core.engine.segmenter import Segmenter
from vis_ros.core.pipeline.offline import CollectingSink, frame_in, run_one
from vis_ros.core.pipeline.segment_track import PipelineConfig
from vis_ros.core.sim.ground_truth import gt_masks
from vis_ros.core.sim.scene import SimOptions
from vis_ros.core.sim.sequence import generate_sequence
from vis_ros.core.streaming.notices import Notices
from vis_ros.evaluation.tracking_metrics import SequenceRecorder, published_masks, summarize

TRACKING_SEED_BASE = 2_000_000  # far from training (0..) and detection eval (1_000_000..)
TRACKING_SIM = SimOptions(objects=10, object_speed=0.25)
# Scored as the node runs by default, through its stream runner: its parameters build the
# decoder and tracker (class-agnostic NMS, detections down to track_low_score for the second pass).
NODE_DEFAULTS = node_defaults()
NOTICES = Notices(logging.getLogger("vis_ros.evaluation"))


def _runner(settings: NodeSettings, segmenter: Segmenter, cameras=None):
    return build_runner(settings, segmenter, NOTICES, cameras=cameras)


def tracking_sequences(count: int, frames: int, options: SimOptions = TRACKING_SIM):
    """One sequence at a time; every mode runs on each, so modes see identical input."""
    for i in range(count):
        _, it = generate_sequence(TRACKING_SEED_BASE + i, frames, options)
        yield list(it)


class ModeRun:
    """One pipeline configuration's results and timing, accumulated sequence by sequence."""

    def __init__(self, segmenter: Segmenter, config: PipelineConfig):
        self.segmenter, self.config = segmenter, config
        self.recorders, self.elapsed, self.frames, self.keyframes = [], 0.0, 0, 0
        self.reasons: dict[str, int] = {}
        self.stage_totals: dict[str, list[float]] = {}

    def add_sequence(self, frames) -> None:
        """Run the pipeline over one sequence and record what it would publish."""
        runner = _runner(replace(NODE_DEFAULTS, pipeline=self.config), self.segmenter)
        sink, rec = CollectingSink(), SequenceRecorder()
        for f in frames:
            t0 = time.perf_counter()
            out = run_one(runner, f.rgb, f.stamp_ns, sink=sink)
            self.elapsed += time.perf_counter() - t0
            self.frames += 1
            self.keyframes += out.frame.keyframe
            if out.keyframe_reason:
                self.reasons[out.keyframe_reason] = self.reasons.get(out.keyframe_reason, 0) + 1
            for k, v in out.timings_s.items():
                self.stage_totals.setdefault(k, []).append(v)
            h, w = f.rgb.shape[:2]
            rec.add(gt_masks(f.instance_ids, ((o.object_id, o.visible_pixels) for o in f.objects)),
                    published_masks(out.frame.instances, h, w))
        self.recorders.append(rec)

    def result(self) -> dict:
        """Return the mode's metrics, frame counts, keyframe reasons and speed."""
        result = summarize(self.recorders)
        result.update(
            keyframe_interval=self.config.keyframe_interval, frames=self.frames,
            keyframes=self.keyframes, keyframe_reasons=self.reasons,
            fps=self.frames / self.elapsed, ms_per_frame=1000.0 * self.elapsed / self.frames,
            stage_ms_mean={k: 1000.0 * float(np.mean(v)) for k, v in self.stage_totals.items()},
        )
        return result


def evaluate_tracking(model_path, sequences: int = 30, frames: int = 90, intervals=(1, 3),
                      threads: int = 0) -> dict:
    """Score frame-by-frame and keyframe modes on the same sequences, modes taking turns."""
    segmenter = build_segmenter(node_defaults(model=str(model_path), threads=threads))
    runs = {f"keyframe_every_{k}" if k > 1 else "frame_by_frame":
            ModeRun(segmenter, PipelineConfig(keyframe_interval=k)) for k in intervals}
    # Modes take turns sequence by sequence, so a machine that slows down or
    # speeds up during the run affects every mode alike, not just the later ones.
    for data in tracking_sequences(sequences, frames):
        for run in runs.values():
            run.add_sequence(data)
    modes = {name: run.result() for name, run in runs.items()}
    report = {"sequences": sequences, "frames_per_sequence": frames, "modes": modes}
    if "frame_by_frame" in modes:
        base = modes["frame_by_frame"]
        for name, m in modes.items():
            if name != "frame_by_frame":
                m["throughput_vs_frame_by_frame"] = m["fps"] / base["fps"]
                m["mask_iou_drop_vs_frame_by_frame"] = base["mean_mask_iou"] - m["mean_mask_iou"]
    return report


def evaluate_cameras_tracking(model_path, cameras: int = 4, frames: int = 90, threads: int = 0) -> dict:
    """IDF1 per camera: the first `cameras` tracking sequences alone, and as cameras of one batched node.

    Batched as the multi-camera node runs them: frame i of every camera,
    one engine call for those that need it, one tracker per camera, one id
    source. Sequences are rendered as they are used (four in memory at
    once would be ~1 GB).
    """
    settings = node_defaults(model=str(model_path), threads=threads)
    segmenter = build_segmenter(settings)

    def frames_of(k):
        return generate_sequence(TRACKING_SEED_BASE + k, frames, TRACKING_SIM)[1]

    def record(rec, f, out):
        h, w = f.rgb.shape[:2]
        rec.add(gt_masks(f.instance_ids, ((o.object_id, o.visible_pixels) for o in f.objects)),
                published_masks(out.frame.instances, h, w))

    alone = []
    for k in range(cameras):
        runner, rec = _runner(settings, segmenter), SequenceRecorder()
        for f in frames_of(k):
            record(rec, f, run_one(runner, f.rgb, f.stamp_ns))
        alone.append(rec)
    runner = _runner(settings, segmenter, cameras=[f"cam{k + 1}" for k in range(cameras)])
    sink, batched = CollectingSink(), [SequenceRecorder() for _ in range(cameras)]
    for frame_set in zip(*(frames_of(k) for k in range(cameras)), strict=True):
        runner.run_batch([frame_in(k, f.rgb, f.stamp_ns) for k, f in enumerate(frame_set)], sink)
        outs = {out.camera.index: out for out in sink.take()}
        for k, (rec, f) in enumerate(zip(batched, frame_set, strict=True)):
            record(rec, f, outs[k])
    per_camera = {}
    for k in range(cameras):
        one, many = summarize([alone[k]])["IDF1"], summarize([batched[k]])["IDF1"]
        per_camera[f"cam{k + 1}"] = {"seed": TRACKING_SEED_BASE + k, "IDF1_alone": one, "IDF1_batched": many,
                                     "drop": one - many}
    return {"cameras": cameras, "frames_per_camera": frames, "per_camera": per_camera,
            "max_drop": max(c["drop"] for c in per_camera.values())}
