"""Depth fusion as a per-camera stage beside the tracker: InstanceFrame + depth + camera -> 3D.

The stage owns the fusion's state over time (support plane, per-track
smoothing), so one camera's 3D never mixes with another's, and it runs
wherever frames are processed: the node, process-bag, the fleet command.
It measures in the camera's optical frame and, given the camera's pose in a
target frame at the image stamp (the 3D stage waits for it: core/pipeline/
three_d.py), smooths and reports in that frame.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from vis_ros.core.data.instances import Instance3DFrame, InstanceFrame
from vis_ros.core.fusion.camera import PinholeCamera
from vis_ros.core.fusion.fuser import DepthFuser
from vis_ros.core.fusion.memory_records import RememberedObject
from vis_ros.core.fusion.transform import Rigid


@dataclass(frozen=True)
class Fused3D:
    """One frame's 3D instances and, for each measured one, its segmented points (metres)."""

    frame: Instance3DFrame
    points: Mapping[int, np.ndarray] = field(default_factory=dict)  # track id -> (N, 3), in frame.frame_id
    camera_origin: tuple[float, float, float] = (0.0, 0.0, 0.0)  # where the camera was, in frame.frame_id
    remembered: tuple[RememberedObject, ...] = ()  # objects out of view (core/fusion/object_memory.py)


class FusionStage:
    """One camera's depth fusion; `notices` (core.streaming.notices.Notices) says each oddity once."""

    def __init__(self, notices=None):
        self.fuser = DepthFuser()
        self._notices = notices

    def __call__(self, frame: InstanceFrame, depth_m: np.ndarray, camera: PinholeCamera,
                 to_target: Rigid | None = None, target_frame: str = "") -> Fused3D:
        """Fuse the published instances of one frame with its aligned depth (metres, 0 = no measurement).

        With `to_target`, the camera's pose in `target_frame` at the frame's
        stamp, the instances and points are in `target_frame`.
        """
        frame3d, estimates, notices = self.fuser(frame, depth_m, camera, to_target, target_frame)
        if self._notices is not None:
            for text in notices:
                self._notices.once(text)
        place = to_target.points if to_target is not None else (lambda points: points)
        points = {tid: place(e.points) for tid, e in estimates.items() if e.confidence > 0}
        origin = to_target.translation if to_target is not None else (0.0, 0.0, 0.0)
        return Fused3D(frame3d, points, tuple(float(v) for v in origin))

    def reset(self) -> None:
        """Forget the smoothing and the support plane (stamps went backwards, tracking restarted)."""
        self.fuser = DepthFuser()
