"""What enters the stream runner and what comes out of it, and where the results go.

Input stamps never poison a statistic or the tracker (`Arrival`): an image
stamped 0 (an unset header) is processed at its arrival time and counted in
`frames_unstamped`; a stamp more than MAX_CLOCK_OFFSET_S away from the
receiving clock (use_sim_time on one side only, an unsynchronised camera
clock) is used as it is for tracking and outputs but kept out of the latency
statistics and counted in `frames_stamp_off_clock`. Offline, the receiving
clock is the bag's record time, so the same rule holds there.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vis_ros.core.data.instances import InstanceFrame
from vis_ros.core.engine.decoder import DecoderConfig
from vis_ros.core.fusion.stage import Fused3D
from vis_ros.core.pipeline.segment_track import KeyframeReason, PipelineConfig
from vis_ros.core.tracking.config import TrackerConfig

MAX_CLOCK_OFFSET_S = 10.0


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


@dataclass(frozen=True)
class RunnerOptions:
    """What the stream runner and its 3D stage need of the node's settings, and nothing more.

    NodeSettings.runner builds it; the runner never sees the rest (topics,
    QoS, outputs), so the pipeline depends on no configuration layer.
    """

    decoder: DecoderConfig = DecoderConfig()
    pipeline: PipelineConfig = PipelineConfig()
    tracker: TrackerConfig = TrackerConfig()
    frame_id_override: str = ""  # outputs' frame_id ("": the image's)
    publish_tentative: bool = False
    class_filter: tuple[str, ...] = ()
    depth_wait_s: float = 0.1  # how long a frame's 3D waits for depth that comes after its image
    depth_scale: float = 0.001  # metres per unit of 16UC1 depth


@dataclass(frozen=True)
class FrameIn:
    """One camera's frame as it arrived: its stamp, frame id, and how to decode its pixels."""

    camera: int
    arrival: Arrival
    frame_id: str
    decode: Callable[[], np.ndarray]  # -> (H, W, 3) uint8 RGB; raises on a bad image


@dataclass(frozen=True)
class CameraId:
    """Which camera a result is of: its index among the runner's cameras and its name ("" for the unnamed one)."""

    index: int
    name: str = ""


@dataclass(frozen=True)
class Published2D:
    """What a camera publishes for one frame in 2D (the publish filter applied)."""

    camera: CameraId
    arrival: Arrival
    frame: InstanceFrame
    rgb: np.ndarray
    keyframe_reason: KeyframeReason
    timings_s: Mapping[str, float]  # this frame's stages before publishing (flow, preprocess, engine, ...)


@dataclass(frozen=True)
class Published3D:
    """What a camera publishes for one frame in 3D: the fused frame, in the camera's optical frame."""

    camera: CameraId
    arrival: Arrival
    frame: InstanceFrame  # the 2D frame it was fused from
    fused: Fused3D


class OutputsClosedError(Exception):
    """The sink can no longer publish: the node is shutting down. Not the frame's fault, so not an error."""


class FrameSink(Protocol):
    """Where a runner's results go: the node's publishers, a bag writer, an index, a recorder."""

    def publish_2d(self, result: Published2D) -> None:
        """Publish one frame's 2D outputs."""

    def publish_3d(self, result: Published3D) -> None:
        """Publish one frame's 3D outputs."""

    def without_3d(self, camera: int, frame: InstanceFrame) -> None:
        """Hear that a published frame's 3D will not come (no depth in time, no transform, bad depth)."""


class Tee:
    """One FrameSink that hands every result to several, in order (a bag's writer and its index)."""

    def __init__(self, *sinks: FrameSink):
        self.sinks = sinks

    def publish_2d(self, result: Published2D) -> None:
        """Hand a 2D result to every sink."""
        for sink in self.sinks:
            sink.publish_2d(result)

    def publish_3d(self, result: Published3D) -> None:
        """Hand a 3D result to every sink."""
        for sink in self.sinks:
            sink.publish_3d(result)

    def without_3d(self, camera: int, frame: InstanceFrame) -> None:
        """Tell every sink a frame's 3D will not come."""
        for sink in self.sinks:
            sink.without_3d(camera, frame)
