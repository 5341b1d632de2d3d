"""Depth fusion as a per-camera stage beside the tracker: InstanceFrame + depth + camera -> 3D.

The stage owns the fusion's state over time (support plane, per-track
smoothing), so one camera's 3D never mixes with another's, and it runs
wherever frames are processed: the node, process-bag, the fleet command.
It works in the camera's optical frame; a transform into a target frame is
the caller's (the node looks it up in TF at the image stamp).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from vis_ros.core.data.instances import Instance3DFrame, InstanceFrame
from vis_ros.core.fusion.camera import PinholeCamera
from vis_ros.core.fusion.fuser import DepthFuser


@dataclass(frozen=True)
class Fused3D:
    """One frame's 3D instances and, for each measured one, its segmented points (camera frame, metres)."""

    frame: Instance3DFrame
    points: Mapping[int, np.ndarray] = field(default_factory=dict)  # track id -> (N, 3)


class FusionStage:
    """One camera's depth fusion; `notices` (core.streaming.notices.Notices) says each oddity once."""

    def __init__(self, notices=None):
        self.fuser = DepthFuser()
        self._notices = notices

    def __call__(self, frame: InstanceFrame, depth_m: np.ndarray, camera: PinholeCamera) -> Fused3D:
        """Fuse the published instances of one frame with its aligned depth (metres, 0 = no measurement)."""
        frame3d, estimates, notices = self.fuser(frame, depth_m, camera)
        if self._notices is not None:
            for text in notices:
                self._notices.once(text)
        points = {tid: e.points for tid, e in estimates.items() if e.confidence > 0}
        return Fused3D(frame3d, points)

    def reset(self) -> None:
        """Forget the smoothing and the support plane (stamps went backwards, tracking restarted)."""
        self.fuser = DepthFuser()
