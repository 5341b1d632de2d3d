"""Depth fusion time for a crowded 640x480 frame, scaled to 20 instances."""
from __future__ import annotations

import time

import numpy as np

from vis_ros.bench.stats import summarize_ms
from vis_ros.core.fusion.fuse import fuse_instance
from vis_ros.core.sim.scene import SimOptions
from vis_ros.core.sim.sequence import generate_sequence
from vis_ros.evaluation.fusion_eval import _instances


def bench_fusion(repeats: int = 30) -> dict:
    k, frames = generate_sequence(3_000_500, 1, SimOptions(objects=15))
    frame = next(frames)
    camera = k
    depth = frame.depth_mm.astype(np.float32) * 0.001
    instances = _instances(frame, 50)
    per_frame = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for inst in instances:
            fuse_instance(inst.box, inst.mask, depth, camera)
        per_frame.append(time.perf_counter() - t0)
    per_instance = summarize_ms(np.array(per_frame) / len(instances))
    return {"instances_in_frame": len(instances), "per_instance_ms": per_instance,
            "for_20_instances_ms": round(20 * per_instance["median"], 3)}
