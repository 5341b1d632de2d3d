"""Depth fusion per frame as the node runs it (support plane, every instance,
smoothing), on a crowded 640x480 frame; scaled to 20 instances."""
from __future__ import annotations

import time

import numpy as np

from vis_ros.bench.stats import summarize_ms
from vis_ros.core.fusion.fuser import DepthFuser
from vis_ros.core.instances import InstanceFrame
from vis_ros.core.sim.scene import SimOptions
from vis_ros.core.sim.sequence import generate_sequence
from vis_ros.core.sim.ground_truth import gt_instances


def bench_fusion(repeats: int = 30) -> dict:
    camera, frames = generate_sequence(3_000_500, 1, SimOptions(objects=15))
    frame = next(frames)
    depth = frame.depth_mm.astype(np.float32) * 0.001
    instances = gt_instances(frame.instance_ids, frame.objects, min_pixels=50)
    fuser = DepthFuser()
    per_frame = []
    for i in range(repeats):
        frame2d = InstanceFrame(frame.stamp_ns + i * 33_333_333, "cam", camera.height, camera.width,
                                True, instances)
        t0 = time.perf_counter()
        fuser(frame2d, depth, camera)
        per_frame.append(time.perf_counter() - t0)
    per_instance = summarize_ms(np.array(per_frame) / len(instances))
    return {"instances_in_frame": len(instances), "per_instance_ms": per_instance,
            "frame_ms": summarize_ms(per_frame),
            "for_20_instances_ms": round(20 * per_instance["median"], 3)}
