"""What enters the stream runner and what comes out of it, and where the results go."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vis_ros.core.data.instances import InstanceFrame
from vis_ros.core.fusion.stage import Fused3D
from vis_ros.core.pipeline.camera_stream import Arrival, CameraStream
from vis_ros.core.pipeline.segment_track import KeyframeReason


@dataclass(frozen=True)
class FrameIn:
    """One camera's frame as it arrived: its stamp, frame id, and how to decode its pixels."""

    camera: int
    arrival: Arrival
    frame_id: str
    decode: Callable[[], np.ndarray]  # -> (H, W, 3) uint8 RGB; raises on a bad image


@dataclass(frozen=True)
class Published2D:
    """What a camera publishes for one frame in 2D (the publish filter applied)."""

    camera: CameraStream
    arrival: Arrival
    frame: InstanceFrame
    rgb: np.ndarray
    keyframe_reason: KeyframeReason
    timings_s: Mapping[str, float]  # this frame's stages before publishing (flow, preprocess, engine, ...)


@dataclass(frozen=True)
class Published3D:
    """What a camera publishes for one frame in 3D: the fused frame, in the camera's optical frame."""

    camera: CameraStream
    arrival: Arrival
    frame: InstanceFrame  # the 2D frame it was fused from
    fused: Fused3D


class OutputsClosedError(Exception):
    """The sink can no longer publish: the node is shutting down. Not the frame's fault, so not an error."""


class FrameSink(Protocol):
    """Where a runner's results go: the node's publishers, a bag writer, a recorder."""

    def publish_2d(self, result: Published2D) -> None:
        """Publish one frame's 2D outputs."""

    def publish_3d(self, result: Published3D) -> None:
        """Publish one frame's 3D outputs."""
