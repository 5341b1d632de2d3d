"""The 3D half of the per-frame path: a published frame waits (bounded) for its depth, then is fused.

2D never waits for depth: the runner publishes each frame's 2D outputs at
once. Its 3D waits for the depth + CameraInfo pair of its stamp, which many
RGB-D drivers send after colour (aligned depth is computed from it), for at
most `depth_wait` seconds on the receiving clock (the node's clock; a bag's
record time). When the pair arrives the frame is fused and its 3D published;
when it cannot come any more (the streams passed the stamp without one) or
the wait expires, the frame counts as without 3D, with the cause. Frames of
one camera are fused in stamp order, so a frame waits behind the one before
it (the fusion's smoothing runs forward in time).

Each camera keeps the causes of its recent frames' 3D outcomes, so
/diagnostics can warn while more than a small share of them has no 3D, and
say why (no depth yet, no depth at all, no CameraInfo, no transform).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from vis_ros.core.config.settings import NodeSettings
from vis_ros.core.data.instances import InstanceFrame
from vis_ros.core.engine.errors import InputError
from vis_ros.core.pipeline.camera_stream import Arrival, CameraStream
from vis_ros.core.pipeline.results import FrameSink, OutputsClosedError, Published3D
from vis_ros.core.streaming.depth_pairing import DepthLookup, Missing
from vis_ros.core.streaming.notices import Notices

NO_TRANSFORM = "no transform"
NO_DEPTH_INPUT = DepthLookup(None, Missing.NO_DEPTH, "no depth input")


class Without3DError(Exception):
    """A sink could not publish a frame's 3D (no transform at its stamp): the frame counts as without 3D."""

    def __init__(self, cause: str, text: str):
        super().__init__(text)
        self.cause = cause


@dataclass(frozen=True)
class Waiting3D:
    """A published frame waiting for its depth."""

    arrival: Arrival
    frame: InstanceFrame
    deadline_ns: int


class ThreeDStage:
    """Every camera's 3D: the wait for depth, fusion, publishing and the counting; see the module docstring."""

    def __init__(self, settings: NodeSettings, notices: Notices, clock_ns: Callable[[], int] | None = None,
                 now_ns: Callable[[], int] | None = None):
        self.settings, self.notices = settings, notices
        self._clock_ns = clock_ns  # for the 3D latency from the image stamp; None: not measured
        self._now_ns = now_ns  # the receiving clock for the wait; None: never wait (frames in memory)

    def add(self, camera: CameraStream, arrival: Arrival, frame: InstanceFrame, sink: FrameSink) -> float:
        """Queue one published frame for 3D and fuse what is ready; return the seconds spent in the sink."""
        wait_ns = int(self.settings.depth.depth_wait * 1e9)
        camera.waiting_3d.append(Waiting3D(arrival, frame, arrival.arrival_ns + wait_ns))
        return self.service_camera(camera, sink)

    def service_camera(self, camera: CameraStream, sink: FrameSink, final: bool = False) -> float:
        """Fuse (or give up on) this camera's waiting frames in order, as far as their depth allows."""
        now_ns = self._now_ns() if self._now_ns is not None else None
        spent = 0.0
        while camera.waiting_3d:
            head = camera.waiting_3d[0]
            lookup = camera.depth.lookup(head.frame.stamp_ns) if camera.depth is not None else NO_DEPTH_INPUT
            wait = now_ns is not None and now_ns < head.deadline_ns
            if lookup.sample is None and lookup.may_still_come and wait and not final:
                break
            camera.waiting_3d.popleft()
            spent += self._fuse(camera, head, lookup, sink)
        return spent

    def next_deadline_ns(self, cameras) -> int | None:
        """Return the earliest deadline of a waiting frame (to wake up for), or None."""
        deadlines = [c.waiting_3d[0].deadline_ns for c in cameras if c.waiting_3d]
        return min(deadlines) if deadlines else None

    def _fuse(self, camera: CameraStream, waiting: Waiting3D, lookup: DepthLookup, sink: FrameSink) -> float:
        """Fuse and publish one frame's 3D, or count it as without 3D; return the seconds spent in the sink."""
        if lookup.sample is None:
            self._without(camera, lookup.missing.value, f"3D skipped{camera.where}: {lookup.reason}")
            return 0.0
        t0 = time.perf_counter()
        try:
            depth, pinhole, warnings = lookup.sample.load(self.settings.depth.depth_scale)
            for text in warnings:
                self.notices.once(text)
            fused = camera.fusion(waiting.frame, depth, pinhole)
        except InputError as exc:  # bad depth encoding or size, no valid pixel, bad CameraInfo
            camera.error(str(exc))
            self._without(camera, "bad depth or CameraInfo", f"3D skipped{camera.where}: {exc}", error=True)
            return 0.0
        t1 = time.perf_counter()
        camera.stats.add("fusion", t1 - t0)
        try:
            sink.publish_3d(Published3D(camera, waiting.arrival, waiting.frame, fused))
        except Without3DError as exc:
            self._without(camera, exc.cause, f"3D skipped{camera.where}: {exc}")
            return time.perf_counter() - t1
        except OutputsClosedError:  # the node is shutting down: counted, said by the node's own log
            camera.count(frames_without_3d=1)
            return time.perf_counter() - t1
        camera.recent_3d.append("")
        if waiting.arrival.timed and self._clock_ns is not None:
            camera.stats.add("end_to_end_3d", (self._clock_ns() - waiting.frame.stamp_ns) * 1e-9)
        return time.perf_counter() - t1

    def _without(self, camera: CameraStream, cause: str, text: str, error: bool = False) -> None:
        camera.count(frames_without_3d=1)
        camera.recent_3d.append(cause)
        if error:
            self.notices.error(text, key=f"3d_error:{camera.name}")
        else:
            self.notices.warning(text, key=f"3d_skipped:{camera.name}:{cause}")
