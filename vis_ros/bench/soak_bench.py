"""Soak: thousands of frames through the node in its own process; memory and accounting.

A 640x480 sim sequence is looped to the node over reliable QoS faster than
the node processes it (so the stale-drop path is exercised too), the node
process's RSS is sampled as frames go by, and at the end every published
frame must be accounted for by the node's own counters:
published = processed + dropped stale + invalid + lost in transport (+ the
frames still in the middleware when the counters were read, which the drain
before reading makes zero).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def process_rss_mb(pid: int) -> float:
    """Return the resident set size of process `pid` in MB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for process {pid}")


def rss_slope_mb_per_1000(samples: list[tuple[int, float]]) -> float:
    """Fit RSS against frames over the second half of the samples (after warm-up allocations)."""
    tail = samples[len(samples) // 2:]
    if len(tail) < 2:
        return 0.0
    frames, rss = np.array(tail, float).T
    return float(np.polyfit(frames, rss, 1)[0] * 1000.0)


def bench_soak(frames: int = 10_000, rate_hz: float = 150.0, samples: int = 20) -> dict:
    """Publish `frames` frames at `rate_hz` to a node process; report RSS slope and accounting."""
    from vis_ros.bench.node_bench import BENCH_PARAMETERS
    from vis_ros.core.sim.dataset import write_sequence
    from vis_ros.core.sim.scene import SimOptions
    from vis_ros.ros.node_session import NodeLaunch, node_session

    work = Path(tempfile.mkdtemp(prefix="vis_ros_soak_"))
    write_sequence(work / "seq", 2_000_041, 60, SimOptions(objects=8))
    with node_session(NodeLaunch(BENCH_PARAMETERS, work / "node.log"), work, "vis_ros_soak") as session:
        player, recorder = session.player(work / "seq"), session.recorder(overlay=False, labels=False)
        session.connect([player], settle_s=1.5)
        player.preload()
        every = max(frames // samples, 1)
        rss, start = [], time.monotonic()
        for done in range(0, frames, every):
            chunk = min(every, frames - done)
            player.play(rate_hz, session.spin, frames=chunk)
            rss.append((done + chunk, process_rss_mb(session.process.pid)))
        elapsed = time.monotonic() - start
        session.spin_until(lambda: recorder.accounted_for(frames), 3.0)  # the node finishes and reports
        counters = {k: int(v) for k, v in recorder.last_counters().items() if v.isdigit()}
    accounted = sum(counters.get(k, 0) for k in ("frames_processed", "frames_dropped_stale", "frames_invalid",
                                                 "frames_lost_in_transport"))
    return {"frames_published": frames, "rate_hz": rate_hz, "seconds": round(elapsed, 1),
            "counters": {k: counters.get(k) for k in ("frames_received", "frames_processed",
                                                      "frames_dropped_stale", "frames_invalid",
                                                      "frames_lost_in_transport")},
            "all_accounted": accounted == frames and counters.get("frames_received", 0) + counters.get(
                "frames_lost_in_transport", 0) == frames,
            "rss_mb": {"first": rss[0][1], "last": rss[-1][1], "samples": rss},
            "rss_slope_mb_per_1000_frames": rss_slope_mb_per_1000(rss)}
