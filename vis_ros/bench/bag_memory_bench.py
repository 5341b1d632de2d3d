"""process-bag's memory against the length of the bag: flat, with and without the instance index.

One short sim sequence (320x240, 10 objects, depth) is written as bags of
1,000 and 10,000 frames (looped, stamps going on), and `vis-ros process-bag`
runs over each in a process of its own, whose peak RSS (the kernel's
ru_maxrss, from os.wait4) is compared. Before the index became a streaming
sink, process-bag kept a row per instance of the whole bag: 6.6 kB a frame,
about 60 MB more for 10,000 frames than for 1,000. Target: within 5 MB. A
run's peak varies by a few MB from run to run (when the allocator's
transient peaks fall), so each length runs REPEATS times and the median
peak is compared.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MB = 5.0
REPEATS = 3


def _peak_rss_mb(args: list[str], cwd: Path) -> tuple[float, float]:
    """Run a command; return its peak RSS in MB and its seconds (its output goes to a file: a pipe could fill)."""
    started = time.monotonic()
    with open(cwd / "process-bag.log", "w") as log:
        process = subprocess.Popen(args, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {(cwd / 'process-bag.log').read_text()[-2000:]}")
    return usage.ru_maxrss / 1024.0, seconds  # ru_maxrss is in kB on Linux


def bench_bag_memory(lengths: tuple[int, ...] = (1_000, 10_000), sequence_frames: int = 60) -> dict:
    """Return process-bag's median peak RSS per bag length, with and without --index, and the growth."""
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
                peaks, seconds = [], []
                for repeat in range(REPEATS):
                    out = root / f"out{length}_{index}_{repeat}"
                    args = [sys.executable, "-P", "-m", "vis_ros.cli", "process-bag", str(root / f"bag{length}"),
                            str(out), "--depth-topic", DEPTH_TOPIC, "--info-topic", INFO_TOPIC] + \
                        (["--index"] if index else [])
                    rss, took = _peak_rss_mb(args, root)
                    peaks.append(rss)
                    seconds.append(took)
                    shutil.rmtree(out)  # gigabytes each
                runs[length] = {"peak_rss_mb": round(statistics.median(peaks), 1),
                                "peaks_mb": [round(p, 1) for p in peaks],
                                "seconds": round(statistics.median(seconds), 1)}
            growth = runs[lengths[-1]]["peak_rss_mb"] - runs[lengths[0]]["peak_rss_mb"]
            report["with_index" if index else "without_index"] = {
                **{f"{length}_frames": run for length, run in runs.items()},
                "growth_mb": round(growth, 1), "within_target": growth <= TARGET_MB}
    return report
