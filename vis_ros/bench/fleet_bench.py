"""Offline throughput: process-bag in this process against process-bags on a local Ray, side by side.

The same bags (640x480, one camera with depth recorded 5 ms after colour)
go through (a) process_bag in this process, one bag after another, the engine
loaded once, (b) Ray with one worker and (c) Ray with two workers (the
cores split between them), at each precision. Reported: images per second
over the processing (Ray's start and the workers' engine loading apart:
they are paid once per run, not per bag), Ray's start, Ray's overhead
against (a), and what that makes per core and in one-minute 30 Hz bags per
hour.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

MINUTE_OF_BAG = 30 * 60  # images in a one-minute bag at 30 Hz


def _bags(root: Path, count: int, frames: int) -> list[Path]:
    from vis_ros.core.sim.dataset import SimDataset, write_sequence
    from vis_ros.core.sim.scene import SimOptions
    from vis_ros.io.bag_export import export_cameras_bag

    bags = []
    for k in range(count):
        write_sequence(root / f"seq{k}", 7_400_000 + k, frames, SimOptions(objects=8, object_speed=0.1))
        export_cameras_bag({"front": SimDataset(root / f"seq{k}")}, root / "bags" / f"bag{k}",
                           with_depth=frozenset({"front"}), depth_after_ns=5_000_000)
        bags.append(root / "bags" / f"bag{k}")
    return bags


def bench_fleet(bags: int = 4, frames: int = 100, precisions=("fp32", "int8")) -> dict:
    """Images per second of process-bag and of process-bags with 1 and 2 Ray workers, per precision."""
    from vis_ros.io.bag_process import BagRun, bag_cameras, process_bag
    from vis_ros.io.fleet import FleetJob, FleetRun, process_bags

    topics = ("/front/color/image_raw",), ("/front/aligned_depth/image_raw",), ("/front/color/camera_info",)
    cameras = bag_cameras(*map(list, topics))
    cores = os.cpu_count()
    report = {"bags": bags, "images_per_bag": frames, "image": "640x480 with depth", "cores": cores}
    with tempfile.TemporaryDirectory(prefix="vis_ros_fleet_bench_") as tmp:
        root = Path(tmp)
        paths = _bags(root, bags, frames)
        images = bags * frames
        for precision in precisions:
            parameters = {"precision": precision, "use_depth": True}
            run = BagRun.build(parameters, "fleet bench", index=True)
            (root / "sequential").mkdir()
            t0 = time.monotonic()
            for bag in paths:
                process_bag(run, cameras, bag, root / "sequential" / bag.name)
            sequential_s = time.monotonic() - t0
            shutil.rmtree(root / "sequential")
            entry = {"process_bag": {"seconds": round(sequential_s, 2),
                                     "images_per_s": round(images / sequential_s, 2)}}
            for workers in (1, 2):
                out = root / f"ray_{workers}"
                summary = process_bags(paths, out, FleetJob(parameters, *topics), FleetRun(workers=workers))
                shutil.rmtree(out)
                seconds = summary.processing_seconds
                entry[f"ray_{workers}_workers"] = {
                    "seconds": seconds, "ray_start_seconds": summary.ray_start_seconds,
                    "images_per_s": round(images / seconds, 2), "failed": len(summary.failed)}
            one, two = entry["ray_1_workers"], entry["ray_2_workers"]
            entry["ray_overhead_1_worker"] = round(one["seconds"] / sequential_s - 1.0, 3)
            entry["two_workers_over_one"] = round(two["images_per_s"] / one["images_per_s"], 3)
            best = max(e["images_per_s"] for e in (entry["process_bag"], one, two))
            entry["images_per_s_per_core"] = round(best / cores, 2)
            entry["one_minute_bags_per_hour"] = round(best * 3600 / MINUTE_OF_BAG, 1)
            report[precision] = entry
    return report
