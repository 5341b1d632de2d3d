"""Several cameras: one node with one engine vs one node per camera, side by side.

(a) one vis_ros_node with `cameras: [cam1..camN]` and (b) N single-camera
nodes (each its own process and engine) get the same N sim sequences from
this process, 640x480 at the same rate, taking turns. Reported: the nodes'
summed RSS (peak while playing), processed frames per second summed over
cameras, stale drops (which say whether the input outran the machine) and
per-camera end-to-end latency p50 / p95, from the nodes' /diagnostics.
Also: engine time per image at batch N vs batch 1, and tracking quality per
camera of the batched pipelines against each camera alone (offline).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from vis_ros.bench.soak_bench import process_rss_mb
from vis_ros.bench.stats import summarize_ms


def _sequences(root: Path, cameras: int, frames: int, depth: bool = False) -> list[Path]:
    from vis_ros.core.sim.dataset import write_sequence
    from vis_ros.core.sim.scene import SimOptions

    paths = []
    for k in range(cameras):
        path = root / f"cam{k + 1}"
        if not (path / "manifest.json").is_file():
            write_sequence(path, 8_000_001 + k, frames, SimOptions(objects=6, object_speed=0.1))
        paths.append(path)
    return paths


def _play(mode: str, sequences: list[Path], work: Path, rate_hz: float, frames: int, parameters: dict) -> dict:
    """Run one mode ("one_node" or "node_per_camera") and read back what the nodes say."""
    from vis_ros.ros.node_session import NodeLaunch, node_session
    from vis_ros.ros.player import play_together

    names = [p.name for p in sequences]
    base = {"qos_reliability": "reliable", "diagnostics_period": 0.5, **parameters}
    if mode == "one_node":
        launches = [NodeLaunch({**base, "cameras": names}, work / f"{mode}.log", remaps={})]
        statuses = {name: ("vis_ros", name) for name in names}
    else:
        launches = [NodeLaunch(base, work / f"{mode}_{name}.log",
                               remaps={"__node": f"vis_ros_{name}", "image": f"/{name}/image",
                                       "depth": f"/{name}/depth", "camera_info": f"/{name}/camera_info"})
                    for name in names]
        statuses = {name: (f"vis_ros_{name}", "") for name in names}
    peak, last_sample, procs = {}, [0.0], []

    def sample_rss() -> None:
        now = time.monotonic()
        if now - last_sample[0] > 0.25:
            last_sample[0] = now
            for p in procs:
                peak[p.pid] = max(peak.get(p.pid, 0.0), process_rss_mb(p.pid))

    with node_session(launches, work, f"cameras_bench_{mode}", on_spin=sample_rss) as session:
        procs.extend(session.processes)
        depth = bool(parameters.get("use_depth"))  # colour only otherwise: the player is a machine's share too
        players = [session.player(seq, topics=(f"/{n}/image", f"/{n}/depth", f"/{n}/camera_info"), with_depth=depth)
                   for n, seq in zip(names, sequences, strict=True)]
        recorder = session.recorder(overlay=False, labels=False)
        session.connect(players, timeout_s=90.0, settle_s=2.0)
        started = time.monotonic()
        play_together(players, rate_hz, session.spin, frames)
        played_s = time.monotonic() - started
        session.spin_for(2.0)
        cameras = {name: recorder.last_counters(camera, node) for name, (node, camera) in statuses.items()}
    processed = sum(int(c.get("frames_processed", 0)) for c in cameras.values())
    return {"rss_mb": round(sum(peak.values()), 1), "processes": len(procs),
            "processed_fps": round(processed / played_s, 1), "published_fps": round(len(names) * frames / played_s, 1),
            "dropped_stale": sum(int(c.get("frames_dropped_stale", 0)) for c in cameras.values()),
            "latency_ms": {name: {"p50": _float(c.get("latency_end_to_end_p50_ms")),
                                  "p95": _float(c.get("latency_end_to_end_p95_ms")),
                                  "fusion_p50": _float(c.get("latency_fusion_p50_ms"))}
                           for name, c in cameras.items()}}


def _float(value):
    return None if value in (None, "") else float(value)


def bench_cameras(cameras: int = 4, frames: int = 150, rates_hz=(30.0,), rounds: int = 2,
                  parameters: dict | None = None) -> dict:
    """Compare (a) one node for all cameras with (b) a node per camera, taking turns at each rate."""
    with tempfile.TemporaryDirectory(prefix="vis_ros_cameras_") as tmp:
        work = Path(tmp)
        sequences = _sequences(work, cameras, frames)
        report = {"cameras": cameras, "frames_per_camera": frames, "size": "640x480", "rates": {}}
        for rate in rates_hz:
            runs = {"one_node": [], "node_per_camera": []}
            for _ in range(rounds):
                for mode in runs:
                    runs[mode].append(_play(mode, sequences, work, rate, frames, parameters or {}))
            one, per = runs["one_node"], runs["node_per_camera"]
            report["rates"][f"{rate:g}_hz"] = {
                "runs": runs,
                "rss_ratio_one_node_vs_per_camera": round(np.median([a["rss_mb"] / b["rss_mb"]
                                                                     for a, b in zip(one, per, strict=True)]), 3),
                "throughput_ratio_one_node_vs_per_camera": round(np.median(
                    [a["processed_fps"] / b["processed_fps"] for a, b in zip(one, per, strict=True)]), 3)}
        return report


def bench_cameras_with_depth(cameras: int = 4, frames: int = 90, rate_hz: float = 30.0) -> dict:
    """One node, N cameras with depth on: per-camera fusion time and end-to-end latency."""
    with tempfile.TemporaryDirectory(prefix="vis_ros_cameras_depth_") as tmp:
        work = Path(tmp)
        sequences = _sequences(work, cameras, frames)
        return _play("one_node", sequences, work, rate_hz, frames, {"use_depth": True})


def bench_engine_batch(batch: int = 4, repeats: int = 30) -> dict:
    """Engine time per image, one call of `batch` images vs `batch` calls of one (embedded models)."""
    from vis_ros.core.data.model_path import resolve_model, share_file
    from vis_ros.core.engine.precision import DEFAULT_INT8_MODEL_NAME
    from vis_ros.core.engine.segmenter import Segmenter

    report = {"batch": batch}
    for precision, path in (("fp32", resolve_model(None)), ("int8", share_file("models", DEFAULT_INT8_MODEL_NAME))):
        segmenter = Segmenter(path, providers=["CPUExecutionProvider"])
        h, w = segmenter.spec.input_hw
        tensor = np.random.default_rng(0).random((batch, 3, h, w), dtype=np.float32)
        singles, batched = [], []
        for _ in range(3):
            segmenter.backend.run(tensor)
            segmenter.backend.run(tensor[:1])
        for _ in range(repeats):  # taking turns
            t0 = time.perf_counter()
            for i in range(batch):
                segmenter.backend.run(tensor[i:i + 1])
            t1 = time.perf_counter()
            segmenter.backend.run(tensor)
            t2 = time.perf_counter()
            singles.append((t1 - t0) / batch)
            batched.append((t2 - t1) / batch)
        one, many = summarize_ms(singles), summarize_ms(batched)
        report[precision] = {"per_image_batch_1_ms": one, f"per_image_batch_{batch}_ms": many,
                             "speedup": round(one["median"] / many["median"], 3)}
    return report
