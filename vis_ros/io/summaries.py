"""What became of a bag and of a fleet of bags: frozen reports, written as JSON beside the outputs.

process-bag writes a BagSummary into each output bag (vis_ros_summary.json);
process-bags gathers a BagResult per bag (complete, with its summary, or
failed, with the reason) into a FleetSummary (fleet_summary.json). They
cross Ray's process boundary as they are (frozen, picklable), and `to_json`
is the one place their JSON layout is decided.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace


@dataclass(frozen=True)
class CameraSummary:
    """One camera of a bag: its topics and what its frames became."""

    topic: str
    depth_topic: str
    frames_in: int
    processed: int
    invalid: int
    without_3d: int | None  # None: no depth for this camera
    keyframes: int
    pipeline_resets: int
    track_ids: int
    last_error: str


@dataclass(frozen=True)
class BagSummary:
    """One processed bag: the engine that ran, every camera's counts, the time it took."""

    bag: str
    model: str
    precision: str
    backend: str
    cameras: Mapping[str, CameraSummary]
    frames_in: int
    seconds: float
    output: str = ""

    @property
    def frames_per_second(self) -> float | None:
        """Images read per second of processing."""
        return round(self.frames_in / self.seconds, 2) if self.seconds else None

    def written_to(self, output: str) -> BagSummary:
        """Return the same summary, of an output at `output`."""
        return replace(self, output=output)

    def to_json(self) -> dict:
        """Return the summary as JSON values."""
        return {"bag": self.bag, "model": self.model, "precision": self.precision, "backend": self.backend,
                "cameras": {name: asdict(camera) for name, camera in self.cameras.items()},
                "frames_in": self.frames_in, "seconds": self.seconds, "frames_per_second": self.frames_per_second,
                "output": self.output}


@dataclass(frozen=True)
class BagResult:
    """What became of one bag in a fleet: complete with its summary, or failed with the reason."""

    bag: str
    output: str
    summary: BagSummary | None = None
    reason: str = ""

    @property
    def complete(self) -> bool:
        """Whether the bag's output is complete."""
        return self.summary is not None

    def to_json(self) -> dict:
        """Return the result as JSON values."""
        if self.summary is not None:
            return {**self.summary.to_json(), "status": "complete"}
        return {"bag": self.bag, "output": self.output, "status": "failed", "reason": self.reason}


@dataclass(frozen=True)
class FleetSummary:
    """A fleet run: how many bags were processed, skipped (complete already) or failed, and how fast."""

    bags: int
    outputs: Mapping[str, str]  # input bag -> its output
    skipped: tuple[str, ...]
    results: tuple[BagResult, ...]
    seconds: float
    ray_start_seconds: float = 0.0
    processing_seconds: float = 0.0
    index_rows: int = 0
    failed: tuple[BagResult, ...] = field(init=False)

    def __post_init__(self) -> None:
        """Keep the failed results apart."""
        object.__setattr__(self, "failed", tuple(r for r in self.results if not r.complete))

    @property
    def processed(self) -> int:
        """Bags processed to a complete output in this run."""
        return sum(1 for r in self.results if r.complete)

    @property
    def frames(self) -> int:
        """Images read in this run."""
        return sum(r.summary.frames_in for r in self.results if r.summary is not None)

    @property
    def frames_per_second(self) -> float | None:
        """Images per second over the whole run."""
        return round(self.frames / self.seconds, 2) if self.seconds and self.frames else None

    def to_json(self) -> dict:
        """Return the summary as JSON values (fleet_summary.json)."""
        return {"bags": self.bags, "processed": self.processed, "skipped": list(self.skipped),
                "failed": [{"bag": r.bag, "reason": r.reason} for r in self.failed], "frames": self.frames,
                "seconds": self.seconds, "frames_per_second": self.frames_per_second, "outputs": dict(self.outputs),
                "results": [r.to_json() for r in self.results], "ray_start_seconds": self.ray_start_seconds,
                "processing_seconds": self.processing_seconds, "index_rows": self.index_rows}
