"""Frames that are already in memory, through the stream runner: what the evaluation and tools use.

Simulated sequences, and images a tool reads itself, enter the runner as
the node's frames do; their stamp is also their arrival time (there is no
transport to measure). CollectingSink keeps what the runner publishes.
"""
from __future__ import annotations

import numpy as np

from vis_ros.core.pipeline.results import Arrival, FrameIn, Published2D, Published3D
from vis_ros.core.pipeline.runner import StreamRunner


def frame_in(camera: int, rgb: np.ndarray, stamp_ns: int, frame_id: str = "") -> FrameIn:
    """Wrap an in-memory RGB image of camera `camera`, taken at `stamp_ns`."""
    return FrameIn(camera, Arrival(stamp_ns, stamp_ns), frame_id, lambda: rgb)


class CollectingSink:
    """A FrameSink that keeps every published result, in order."""

    def __init__(self):
        self.results_2d: list[Published2D] = []
        self.results_3d: list[Published3D] = []

    def publish_2d(self, result: Published2D) -> None:
        """Keep a 2D result."""
        self.results_2d.append(result)

    def publish_3d(self, result: Published3D) -> None:
        """Keep a 3D result."""
        self.results_3d.append(result)

    def without_3d(self, camera: int, frame) -> None:
        """Keep nothing for a frame without 3D (its 2D result was kept)."""

    def take(self) -> list[Published2D]:
        """Return the 2D results kept so far and forget them."""
        taken, self.results_2d = self.results_2d, []
        return taken


def run_one(runner: StreamRunner, rgb: np.ndarray, stamp_ns: int, frame_id: str = "",
            sink: CollectingSink | None = None) -> Published2D | None:
    """Process one frame of the runner's first camera; its published result, or None if it was rejected."""
    sink = sink or CollectingSink()
    runner.run_batch([frame_in(0, rgb, stamp_ns, frame_id)], sink)
    taken = sink.take()
    return taken[0] if taken else None
