"""Depth fusion per frame as the node runs it, for 20 instances (C kernels unless VIS_ROS_NUMPY_KERNELS=1).

Depth fusion per frame as the node runs it (support plane, every instance,
smoothing) for 20 instances on a 640x480 frame.

The frame is the 15-object scene the figures have always been measured on
(fewer are visible), so its instances are reused under new track ids until
there are 20: each is a real object's mask on real (simulated) depth, fused
and smoothed like any other.
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from vis_ros.bench.stats import summarize_ms
from vis_ros.core.data.instances import InstanceFrame
from vis_ros.core.fusion.fuser import DepthFuser
from vis_ros.core.sim.ground_truth import gt_instances
from vis_ros.core.sim.scene import SimOptions
from vis_ros.core.sim.sequence import generate_sequence


def busy_frame(count: int = 20):
    """Return the camera, a sim frame, its depth in metres, `count` instances on it and the distinct objects."""
    camera, frames = generate_sequence(3_000_500, 1, SimOptions(objects=15))
    frame = next(frames)
    depth = frame.depth_mm.astype(np.float32) * 0.001
    seen = gt_instances(frame.instance_ids, frame.objects, min_pixels=50)
    instances = tuple(replace(seen[i % len(seen)], track_id=10_000 + i) for i in range(count))
    return camera, frame, depth, instances, len(seen)


def bench_fusion(repeats: int = 30, count: int = 20) -> dict:
    """Time depth fusion of `count` instances on one frame, `repeats` times (milliseconds)."""
    from vis_ros.core.config.factories import apply_opencv_threads
    from vis_ros.core.config.settings import node_defaults

    apply_opencv_threads(node_defaults().engine)  # OpenCV threads as the node sets them
    camera, frame, depth, instances, distinct = busy_frame(count)
    fuser = DepthFuser()
    per_frame = []
    for i in range(repeats):
        frame2d = InstanceFrame(frame.stamp_ns + i * 33_333_333, "cam", camera.height, camera.width,
                                True, instances)
        t0 = time.perf_counter()
        fuser(frame2d, depth, camera)
        per_frame.append(time.perf_counter() - t0)
    return {"instances": count, "distinct_objects": distinct, "frame_ms": summarize_ms(per_frame)}
