"""process-bag's memory against the length of the bag: flat, with and without the instance index.

One short sim sequence (320x240, 10 objects, depth) is written as bags of
1,000 and 10,000 frames (looped, stamps going on), and `vis-ros process-bag`
runs over each in a process of its own, whose peak RSS (the kernel's
ru_maxrss, from os.wait4) is compared. Before the index became a streaming
sink, process-bag kept a row per instance of the whole bag: 6.6 kB a frame,
about 60 MB more for 10,000 frames than for 1,000. Target: within 5 MB.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MB = 5.0


def _peak_rss_mb(args: list[str], cwd: Path) -> tuple[float, float]:
    """Run a command; return its peak RSS in MB and its seconds."""
    started = time.monotonic()
    process = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {process.stderr.read().decode()[-2000:]}")
    process.stderr.close()
    return usage.ru_maxrss / 1024.0, seconds  # ru_maxrss is in kB on Linux


def bench_bag_memory(lengths: tuple[int, ...] = (1_000, 10_000), sequence_frames: int = 60) -> dict:
    """Peak RSS of process-bag per bag length, with and without --index, and the growth from the shortest."""
    from vis_ros.core.sim.dataset import SimDataset, write_sequence
    from vis_ros.core.sim.scene import SimOptions
    from vis_ros.io.bag_export import DEPTH_TOPIC, INFO_TOPIC, export_bag

    report = {"image": "320x240 with depth, 10 objects", "target_growth_mb": TARGET_MB}
    with tempfile.TemporaryDirectory(prefix="vis_ros_bag_memory_") as tmp:
        root = Path(tmp)
        write_sequence(root / "seq", 7_500_001, sequence_frames, SimOptions(width=320, height=240, objects=10))
        for length in lengths:
            export_bag(SimDataset(root / "seq"), root / f"bag{length}", frames=length)
        for index in (False, True):
            runs = {}
            for length in lengths:
                args = [sys.executable, "-P", "-m", "vis_ros.cli", "process-bag", str(root / f"bag{length}"),
                        str(root / f"out{length}_{index}"), "--depth-topic", DEPTH_TOPIC, "--info-topic",
                        INFO_TOPIC] + (["--index"] if index else [])
                rss, seconds = _peak_rss_mb(args, root)
                runs[length] = {"peak_rss_mb": round(rss, 1), "seconds": round(seconds, 1)}
            growth = runs[lengths[-1]]["peak_rss_mb"] - runs[lengths[0]]["peak_rss_mb"]
            report["with_index" if index else "without_index"] = {
                **{f"{length}_frames": run for length, run in runs.items()},
                "growth_mb": round(growth, 1), "within_target": growth <= TARGET_MB}
    return report
