"""The 3D half of the per-frame path: a published frame waits (bounded) for its depth and transform, then is fused.

2D never waits for depth: the runner publishes each frame's 2D outputs at
once. Its 3D waits for the depth + CameraInfo pair of its stamp, which many
RGB-D drivers send after colour (aligned depth is computed from it), and,
with a target frame, for the camera's pose in it at that stamp (TF's
publishers are often a little behind the camera), for at most `depth_wait`
seconds on the receiving clock (the node's clock; a bag's record time). The
transform is asked of a TransformSource (core/streaming/transforms.py), which
answers at once: nothing here ever blocks on TF. When both have arrived the
frame is fused and its 3D published; when one cannot come any more (the
streams passed the stamp without it) or the wait expires, the frame counts
as without 3D, with the cause. Frames of one camera are fused in stamp order,
so a frame waits behind the one before it (the fusion's smoothing runs
forward in time).

Each camera keeps the causes of its recent frames' 3D outcomes, so
/diagnostics can warn while more than a small share of them has no 3D, and
say why (no depth yet, no depth at all, no CameraInfo, no transform).
"""
from __future__ import annotations

import collections
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from vis_ros.core.data.errors import InputError
from vis_ros.core.data.instances import InstanceFrame
from vis_ros.core.fusion.camera import PinholeCamera
from vis_ros.core.fusion.memory_records import CameraView
from vis_ros.core.fusion.object_memory import ObjectMemory
from vis_ros.core.fusion.stage import Fused3D, FusionStage
from vis_ros.core.fusion.transform import Rigid
from vis_ros.core.pipeline.camera_stream import CameraStream
from vis_ros.core.pipeline.results import Arrival, FrameSink, OutputsClosedError, Published3D, RunnerOptions
from vis_ros.core.streaming.depth_pairing import DepthLookup, DepthPairing
from vis_ros.core.streaming.notices import Notices
from vis_ros.core.streaming.transforms import TransformLookup, TransformSource

NO_TRANSFORM = "no transform"
RECENT_3D_FRAMES = 60  # frames whose 3D outcome /diagnostics looks at (2 s at 30 Hz)
TRANSFORM_POLL_NS = 5_000_000  # how often a frame whose depth is here asks again for its transform


@dataclass(frozen=True)
class Waiting3D:
    """A published frame waiting for its depth."""

    arrival: Arrival
    frame: InstanceFrame
    deadline_ns: int


class CameraDepth:
    """One camera's 3D state, the 3D stage's alone: its depth and transform sources, fusion, frames waiting, outcomes.

    `transforms` (None: 3D in the image's frame) gives the camera's pose in
    its target frame.
    """

    def __init__(self, source: DepthPairing, fusion: FusionStage, transforms: TransformSource | None = None):
        self.source, self.fusion, self.transforms = source, fusion, transforms
        self.waiting: collections.deque[Waiting3D] = collections.deque()  # published frames waiting for depth
        self.recent: collections.deque[str] = collections.deque(maxlen=RECENT_3D_FRAMES)  # causes, "" = had 3D
        self.awaiting_transform = False  # the first waiting frame has its depth, not yet its transform

    def placement(self, frame: InstanceFrame) -> TransformLookup | None:
        """Return the camera's pose in the target frame at the frame's stamp (or why not); None without one."""
        return self.transforms.lookup(frame.frame_id, frame.stamp_ns) if self.transforms is not None else None

    def without_3d(self) -> tuple[float, str]:
        """Return the share of recent frames without 3D and the commonest cause ("" when none)."""
        recent = list(self.recent)
        missing = Counter(cause for cause in recent if cause)
        share = sum(missing.values()) / len(recent) if recent else 0.0
        return share, missing.most_common(1)[0][0] if missing else ""


class ThreeDStage:
    """Every camera's 3D: the wait for depth, fusion, publishing and the counting; see the module docstring."""

    def __init__(self, options: RunnerOptions, notices: Notices, depth: Mapping[int, CameraDepth],
                 clock_ns: Callable[[], int] | None = None, now_ns: Callable[[], int] | None = None,
                 memory: ObjectMemory | None = None):
        self.options, self.notices = options, notices
        self.cameras = dict(depth)  # camera index -> its 3D state (cameras with depth only)
        self.memory = memory  # objects out of view, in the target frame (core/fusion/object_memory.py); None: off
        self._clock_ns = clock_ns  # for the 3D latency from the image stamp; None: not measured
        self._now_ns = now_ns  # the receiving clock for the wait; None: never wait (frames in memory)

    def add(self, camera: CameraStream, arrival: Arrival, frame: InstanceFrame, sink: FrameSink) -> float:
        """Queue one published frame for 3D and fuse what is ready; return the seconds spent in the sink."""
        wait_ns = int(self.options.depth_wait_s * 1e9)
        self.cameras[camera.index].waiting.append(Waiting3D(arrival, frame, arrival.arrival_ns + wait_ns))
        return self.service_camera(camera, sink)

    def service_camera(self, camera: CameraStream, sink: FrameSink, final: bool = False) -> float:
        """Fuse (or give up on) this camera's waiting frames in order, as far as their depth and transform allow."""
        depth = self.cameras.get(camera.index)
        if depth is None:
            return 0.0
        now_ns = self._now_ns() if self._now_ns is not None else None
        spent = 0.0
        depth.awaiting_transform = False
        while depth.waiting:
            head = depth.waiting[0]
            lookup = depth.source.lookup(head.frame.stamp_ns)
            wait = now_ns is not None and now_ns < head.deadline_ns and not final
            if lookup.sample is None and lookup.may_still_come and wait:
                break
            place = depth.placement(head.frame) if lookup.sample is not None else None
            if place is not None and place.transform is None and place.may_still_come and wait:
                depth.awaiting_transform = True
                break
            depth.waiting.popleft()
            spent += self._fuse(camera, depth, head, lookup, place, sink)
        return spent

    def reset(self, camera: int) -> None:
        """Forget a camera's 3D smoothing, and the object memory (stamps went backwards)."""
        if camera in self.cameras:
            self.cameras[camera].fusion.reset()
        if self.memory is not None:
            self.memory.reset()

    def renamed(self, frame: InstanceFrame) -> InstanceFrame:
        """Return a 2D frame with the IDs users see (the object memory's restored ones)."""
        return self.memory.renamed(frame) if self.memory is not None else frame

    def next_deadline_ns(self) -> int | None:
        """Return when to look again (to wake up for): the earliest deadline, sooner for a transform; or None.

        Depth wakes the caller when it arrives (DepthPairing's on_pair); a
        transform does not, so a frame waiting for one is looked at again every
        TRANSFORM_POLL_NS.
        """
        deadlines = [c.waiting[0].deadline_ns for c in self.cameras.values() if c.waiting]
        if any(c.awaiting_transform for c in self.cameras.values()) and self._now_ns is not None:
            deadlines.append(self._now_ns() + TRANSFORM_POLL_NS)
        return min(deadlines) if deadlines else None

    def _fuse(self, camera: CameraStream, depth_state: CameraDepth, waiting: Waiting3D, lookup: DepthLookup,
              place: TransformLookup | None, sink: FrameSink) -> float:
        """Fuse and publish one frame's 3D, or count it as without 3D; return the seconds spent in the sink."""
        if lookup.sample is None:
            self._without(camera, depth_state, waiting, sink, lookup.missing.value,
                          f"3D skipped{camera.where}: {lookup.reason}")
            return 0.0
        if place is not None and place.transform is None:
            self._without(camera, depth_state, waiting, sink, NO_TRANSFORM,
                          f"3D skipped{camera.where}: no transform {waiting.frame.frame_id} ->"
                          f" {depth_state.transforms.target_frame} at the image stamp: {place.reason}")
            return 0.0
        t0 = time.perf_counter()
        try:
            depth, pinhole, warnings = lookup.sample.load(self.options.depth_scale)
            for text in warnings:
                self.notices.once(text)
            if place is None:
                fused = depth_state.fusion(waiting.frame, depth, pinhole)
            else:
                fused = depth_state.fusion(waiting.frame, depth, pinhole, place.transform,
                                           depth_state.transforms.target_frame)
                fused = self._remembering(camera, fused, depth, pinhole, place.transform)
        except InputError as exc:  # bad depth encoding or size, no valid pixel, bad CameraInfo
            camera.error(str(exc))
            self._without(camera, depth_state, waiting, sink, "bad depth or CameraInfo",
                          f"3D skipped{camera.where}: {exc}", error=True)
            return 0.0
        t1 = time.perf_counter()
        camera.stats.add("fusion", t1 - t0)
        try:
            sink.publish_3d(Published3D(camera.id, waiting.arrival, self.renamed(waiting.frame), fused))
        except OutputsClosedError:  # the node is shutting down: counted, said by the node's own log
            camera.count(frames_without_3d=1)
            return time.perf_counter() - t1
        depth_state.recent.append("")
        if waiting.arrival.timed and self._clock_ns is not None:
            camera.stats.add("end_to_end_3d", (self._clock_ns() - waiting.frame.stamp_ns) * 1e-9)
        return time.perf_counter() - t1

    def _remembering(self, camera: CameraStream, fused: Fused3D, depth: np.ndarray, pinhole: PinholeCamera,
                     pose: Rigid) -> Fused3D:
        """Restore remembered IDs and remember what left the view; the fused frame with the IDs users see."""
        if self.memory is None:
            return fused
        frame = self.memory.update(camera.index, fused.frame, CameraView(pinhole, pose, depth),
                                   camera.pipeline.tracker.appearances())
        points = {self.memory.object_id(track): p for track, p in fused.points.items()}
        return replace(fused, frame=frame, points=points, remembered=self.memory.remembered())

    def _without(self, camera: CameraStream, depth_state: CameraDepth, waiting: Waiting3D, sink: FrameSink,
                 cause: str, text: str, error: bool = False) -> None:
        camera.count(frames_without_3d=1)
        depth_state.recent.append(cause)
        sink.without_3d(camera.index, waiting.frame)
        if error:
            self.notices.error(text, key=f"3d_error:{camera.name}")
        else:
            self.notices.warning(text, key=f"3d_skipped:{camera.name}:{cause}")
