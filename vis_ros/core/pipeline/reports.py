"""What a camera stream and the engine report: frozen values for /diagnostics, tools and tests.

A report is taken at one moment and never changes after, so the diagnostics
timer, a test or a tool's summary reads a consistent set of counters while the
worker goes on counting. Field names are the /diagnostics keys.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from vis_ros.core.streaming.rolling_stats import RollingStats


@dataclass(frozen=True)
class Percentiles:
    """Median and 95th percentile of a latency, in milliseconds."""

    p50_ms: float
    p95_ms: float


def latency_percentiles(stats: RollingStats) -> dict[str, Percentiles]:
    """Every quantity recorded in `stats` (seconds) as percentiles in milliseconds, by name."""
    latencies = {}
    for name in stats.names():
        pct = stats.percentiles(name)
        if pct is not None:
            latencies[name] = Percentiles(pct[0] * 1000.0, pct[1] * 1000.0)
    return latencies


@dataclass(frozen=True)
class InputCounts:
    """What the input side saw of one camera: the runner never sees frames dropped or lost before it."""

    received: int = 0
    dropped_stale: int = 0
    lost_in_transport: int = 0
    rate_hz: float = 0.0


@dataclass(frozen=True)
class FrameCounts:
    """Every frame of one camera, by what became of it.

    received = processed + dropped_stale + invalid + dropped_at_stop (+ at
    most one waiting); frames the middleware lost never arrived and are
    counted apart.
    """

    frames_received: int = 0
    frames_dropped_stale: int = 0
    frames_lost_in_transport: int = 0
    frames_processed: int = 0
    frames_invalid: int = 0
    frames_dropped_at_stop: int = 0  # in flight when the node shut down: decoded, not published
    keyframes: int = 0
    pipeline_resets: int = 0
    frames_without_3d: int = 0
    frames_unstamped: int = 0
    frames_stamp_off_clock: int = 0

    def items(self) -> list[tuple[str, int]]:
        """(name, value) of every counter, in a fixed order."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


@dataclass(frozen=True)
class CameraReport:
    """One camera's state: counters, rates, latency per stage, its last error and its age."""

    name: str  # "" for the one unnamed camera
    counts: FrameCounts
    input_hz: float
    output_hz: float
    latency_ms: Mapping[str, Percentiles] = field(default_factory=dict)
    last_error: str = ""
    last_error_age_s: float | None = None
    recent_without_3d: float = 0.0  # share of the recent frames (with depth on) that got no 3D
    without_3d_cause: str = ""  # the commonest cause among them: no depth yet, no depth, no CameraInfo, ...

    @property
    def label(self) -> str:
        """The camera's /diagnostics status name: its name, or "pipeline" for the unnamed one."""
        return self.name or "pipeline"


@dataclass(frozen=True)
class EngineReport:
    """Engine calls by images per call, and the time per call by images per call."""

    calls_by_batch: Mapping[int, int] = field(default_factory=dict)
    time_per_call_ms: Mapping[str, Percentiles] = field(default_factory=dict)  # "batch_<n>" -> percentiles

    @property
    def calls(self) -> int:
        """Engine calls so far."""
        return sum(self.calls_by_batch.values())

    @property
    def images_per_call(self) -> float:
        """Mean images per engine call (0 before the first)."""
        calls = self.calls
        return sum(size * count for size, count in self.calls_by_batch.items()) / calls if calls else 0.0
