"""Tracker cost per frame with 30 live tracks (masked detections, appearance on)."""
from __future__ import annotations

import time

import numpy as np

from vis_ros.bench.stats import summarize_ms
from vis_ros.core.data.detections import Detection
from vis_ros.core.data.instances import PixelBox
from vis_ros.core.tracking.tracker import Tracker


def _detections(frame: int, rng_offsets: np.ndarray) -> list[Detection]:
    out = []
    for k, (ox, oy) in enumerate(rng_offsets):
        cx = 40 + (k % 6) * 100 + ox + 0.25 * frame  # stays inside the image
        cy = 40 + (k // 6) * 85 + oy
        roi = PixelBox(int(cx - 20), int(cy - 20), 40, 40)
        yy, xx = np.mgrid[:40, :40]
        mask = (yy - 19.5) ** 2 + (xx - 19.5) ** 2 <= 400
        out.append(Detection(box=(roi.x, roi.y, roi.x_end, roi.y_end), score=0.9, class_id=k % 6,
                             class_name=str(k % 6), roi=roi, mask=mask))
    return out


def bench_tracker(tracks: int = 30, frames: int = 200) -> dict:
    """Time one tracker update with `tracks` live tracks (masks and appearance on)."""
    rng = np.random.default_rng(0)
    offsets = rng.uniform(-5, 5, (tracks, 2))
    rgb = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    tracker = Tracker()
    samples = []
    for f in range(frames):
        dets = _detections(f, offsets)
        t0 = time.perf_counter()
        tracker.update(dets, f * 33_333_333, (480, 640), rgb)
        samples.append(time.perf_counter() - t0)
    return {"live_tracks": len(tracker.tracks), "update_ms": summarize_ms(samples[10:])}
