"""One camera's processing state: its pipeline, counters and statistics.

Its results go out under its CameraId (index and name), never the stream
itself: sinks see what a camera published, not its mutable state. Its 3D
(depth source, fusion, frames waiting for depth) is the 3D stage's
(three_d.CameraDepth).
"""
from __future__ import annotations

import time
from dataclasses import replace

from vis_ros.core.pipeline.reports import CameraReport, FrameCounts, InputCounts, latency_percentiles
from vis_ros.core.pipeline.results import CameraId
from vis_ros.core.pipeline.segment_track import SegmentTrackPipeline
from vis_ros.core.streaming.rolling_stats import RateMeter, RollingStats

NO_INPUTS = InputCounts()


class CameraStream:
    """One camera's pipeline, counters and statistics; see the module docstring."""

    def __init__(self, index: int, name: str, pipeline: SegmentTrackPipeline):
        self.index, self.name = index, name
        self.id = CameraId(index, name)  # what its published results carry
        self.pipeline = pipeline
        self.counts = FrameCounts()
        self.stats = RollingStats()
        self.output_rate = RateMeter()
        self.last_error = ""
        self._last_error_s: float | None = None

    @property
    def where(self) -> str:
        """" on <name>" for a named camera, "" for the unnamed one: the tail of a log line."""
        return f" on {self.name}" if self.name else ""

    def count(self, **increments: int) -> None:
        """Add to counters by name (one worker thread counts; reports copy the frozen value)."""
        counts = self.counts
        self.counts = replace(counts, **{k: getattr(counts, k) + v for k, v in increments.items()})

    def error(self, text: str) -> None:
        """Remember the camera's last error and when it happened."""
        self.last_error, self._last_error_s = text, time.monotonic()

    def report(self, inputs: InputCounts = NO_INPUTS, without_3d: tuple[float, str] = (0.0, "")) -> CameraReport:
        """Counters, rates and latency percentiles now; `inputs` is what the input side counted.

        `without_3d`: the share of recent frames without 3D and its commonest
        cause, as the 3D stage saw them.
        """
        counts = replace(self.counts, frames_received=inputs.received, frames_dropped_stale=inputs.dropped_stale,
                         frames_lost_in_transport=inputs.lost_in_transport)
        age = None if self._last_error_s is None else time.monotonic() - self._last_error_s
        share, cause = without_3d
        return CameraReport(self.name, counts, inputs.rate_hz, self.output_rate.rate(),
                            latency_percentiles(self.stats), self.last_error, age, share, cause)
