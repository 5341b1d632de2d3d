"""One camera's processing state: its pipeline, 3D stage, depth, counters and statistics.

Input stamps never poison a statistic or the tracker (`Arrival`): an image
stamped 0 (an unset header) is processed at its arrival time and counted in
`frames_unstamped`; a stamp more than MAX_CLOCK_OFFSET_S away from the
receiving clock (use_sim_time on one side only, an unsynchronised camera
clock) is used as it is for tracking and outputs but kept out of the latency
statistics and counted in `frames_stamp_off_clock`. Offline, the receiving
clock is the bag's record time, so the same rule holds there.
"""
from __future__ import annotations

import collections
import time
from collections import Counter
from dataclasses import dataclass, replace

from vis_ros.core.fusion.stage import FusionStage
from vis_ros.core.pipeline.reports import CameraReport, FrameCounts, InputCounts, latency_percentiles
from vis_ros.core.pipeline.segment_track import SegmentTrackPipeline
from vis_ros.core.streaming.depth_pairing import DepthPairing
from vis_ros.core.streaming.rolling_stats import RateMeter, RollingStats

MAX_CLOCK_OFFSET_S = 10.0
RECENT_3D_FRAMES = 60  # frames whose 3D outcome /diagnostics looks at (2 s at 30 Hz)
NO_INPUTS = InputCounts()


@dataclass(frozen=True)
class Arrival:
    """When a frame arrived and what its stamp is worth."""

    stamp_ns: int  # the image header's stamp; 0: not set
    arrival_ns: int  # the receiving clock (the node's; a bag's record time)
    received_s: float | None = None  # monotonic arrival time, for the queue wait (None: not measured)

    @property
    def timed(self) -> bool:
        """Stamp set and within MAX_CLOCK_OFFSET_S of the receiving clock: latency is measurable."""
        return self.stamp_ns != 0 and abs(self.arrival_ns - self.stamp_ns) <= MAX_CLOCK_OFFSET_S * 1e9

    @property
    def stamp_to_use(self) -> int:
        """The stamp to process the frame at: its own, or its arrival time when unset."""
        return self.stamp_ns or self.arrival_ns


class CameraStream:
    """One camera's pipeline, 3D stage, depth pairs, counters and statistics; see the module docstring."""

    def __init__(self, index: int, name: str, pipeline: SegmentTrackPipeline, fusion: FusionStage | None = None):
        self.index, self.name = index, name
        self.pipeline, self.fusion = pipeline, fusion
        self.depth: DepthPairing | None = None  # set while inputs exist (the node: between activate and deactivate)
        self.waiting_3d: collections.deque = collections.deque()  # published frames waiting for depth (Waiting3D)
        self.recent_3d: collections.deque = collections.deque(maxlen=RECENT_3D_FRAMES)  # causes, "" = had 3D
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

    def reset(self) -> None:
        """Forget tracks, flow and 3D smoothing (stamps went backwards); ids keep counting."""
        self.pipeline.reset()
        if self.fusion is not None:
            self.fusion.reset()

    def report(self, inputs: InputCounts = NO_INPUTS) -> CameraReport:
        """Counters, rates and latency percentiles now; `inputs` is what the input side counted."""
        counts = replace(self.counts, frames_received=inputs.received, frames_dropped_stale=inputs.dropped_stale,
                         frames_lost_in_transport=inputs.lost_in_transport)
        age = None if self._last_error_s is None else time.monotonic() - self._last_error_s
        recent = list(self.recent_3d)
        missing = Counter(cause for cause in recent if cause)
        share = sum(missing.values()) / len(recent) if recent else 0.0
        cause = missing.most_common(1)[0][0] if missing else ""
        return CameraReport(self.name, counts, inputs.rate_hz, self.output_rate.rate(),
                            latency_percentiles(self.stats), self.last_error, age, share, cause)
