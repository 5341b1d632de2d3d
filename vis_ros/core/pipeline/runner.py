"""The one per-frame path: decode -> begin -> one engine call -> complete -> publish 2D -> 3D.

The node's worker, process-bag, the fleet command, the evaluation and the
benchmarks all hand their frames to `StreamRunner.run_batch`, so they cannot
disagree. Each keeps only its own input (messages, a bag, sim frames) and
output (publishers, a bag writer, a recorder: a FrameSink).

For a batch (at most one frame per camera), every camera's frame is decoded
and begun (keyframe decision, flow propagation); propagated frames are
published at once, before the engine runs; the frames that need the engine
share one call (a fixed-batch model runs them one after another), then each
is tracked and published by its camera. A frame is processed or rejected as
invalid (counted and named, logged per camera, throttled): a failure in one
camera's frame touches only that frame. When the shared engine call fails,
its frames run alone, so only the one that caused it is rejected.

Stamps going backwards (a bag loop, a clock reset) reset that camera's
tracking before the frame is begun, so it goes through the engine call of
its batch like any other; an image size change restarts its tracking (new
ids).
With depth, each published frame goes on to its camera's 3D stage
(core/pipeline/three_d.py): 2D is published at once, 3D when the depth +
CameraInfo pair of its stamp is there (waiting a bounded time for depth that
arrives after colour), or the frame counts as without 3D, the cause named.
"""
from __future__ import annotations

import collections
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vis_ros.core.data.errors import EngineError
from vis_ros.core.engine.segmenter import Segmenter
from vis_ros.core.fusion.object_memory import ObjectMemory
from vis_ros.core.pipeline.camera_stream import NO_INPUTS, CameraStream
from vis_ros.core.pipeline.reports import CameraReport, EngineReport, InputCounts, latency_percentiles
from vis_ros.core.pipeline.results import Arrival, FrameIn, FrameSink, OutputsClosedError, Published2D, RunnerOptions
from vis_ros.core.pipeline.segment_track import EngineRequest, PipelineOutput
from vis_ros.core.pipeline.three_d import CameraDepth, ThreeDStage
from vis_ros.core.streaming.notices import Notices
from vis_ros.core.streaming.rolling_stats import RollingStats
from vis_ros.core.tracking.tracker import StampWentBackwardsError


@dataclass
class _Frame:
    """A frame between its decoding and its publishing."""

    camera: CameraStream
    arrival: Arrival
    rgb: np.ndarray
    stamp_ns: int
    frame_id: str
    decode_s: float


class StreamRunner:
    """The shared engine and the cameras' streams; see the module docstring."""

    def __init__(self, segmenter: Segmenter, cameras: Sequence[CameraStream], options: RunnerOptions,
                 notices: Notices, depth: Mapping[int, CameraDepth] | None = None,
                 clock_ns: Callable[[], int] | None = None, now_ns: Callable[[], int] | None = None,
                 memory: ObjectMemory | None = None):
        """Build the runner; `depth` is the 3D state of each camera with depth (by index).

        `clock_ns` (the receiving clock) measures latency, `now_ns` times the
        wait for depth; without `now_ns` a frame never waits for depth (frames
        in memory: the depth that will come is already there). `memory`
        restores the IDs of objects that come back into view (3D in a target
        frame only).
        """
        self.segmenter, self.cameras, self.options = segmenter, list(cameras), options
        self.notices = notices
        self._clock_ns = clock_ns  # the receiving clock, for end-to-end latency; None: not measured
        self.three_d = ThreeDStage(options, notices, depth or {}, clock_ns, now_ns, memory)
        self._batch_sizes: collections.Counter = collections.Counter()
        self._engine_stats = RollingStats()

    def apply(self, options: RunnerOptions) -> None:
        """Use run-time changed options from the next frame on (call between batches)."""
        self.options = self.three_d.options = options
        self.segmenter.reconfigure(options.decoder)
        for camera in self.cameras:
            camera.pipeline.reconfigure(options.pipeline, tracker=options.tracker)

    def service_3d(self, sink: FrameSink, final: bool = False) -> None:
        """Fuse the frames whose depth has come (or whose wait is over); `final`: give up waiting (stop, end of bag)."""
        for camera in self.cameras:
            self.three_d.service_camera(camera, sink, final)

    def next_3d_deadline_ns(self) -> int | None:
        """When the earliest frame waiting for depth gives up (to wake up for), or None."""
        return self.three_d.next_deadline_ns()

    def report(self, camera: int, inputs: InputCounts = NO_INPUTS) -> CameraReport:
        """Return a camera's counters, statistics and 3D outcomes; `inputs` is what the input side counted."""
        depth = self.three_d.cameras.get(camera)
        return self.cameras[camera].report(inputs, depth.without_3d() if depth is not None else (0.0, ""))

    def engine_report(self) -> EngineReport:
        """Engine calls by images per call, and time per call."""
        return EngineReport(dict(sorted(self._batch_sizes.items())), latency_percentiles(self._engine_stats))

    # -- one batch --------------------------------------------------------------------
    def run_batch(self, frames: Sequence[FrameIn], sink: FrameSink) -> None:
        """Process one frame per camera (see the module docstring); results go to `sink` as they are ready."""
        waiting: list[tuple[_Frame, EngineRequest]] = []
        for item in frames:
            camera = self.cameras[item.camera]
            frame = self._guard(camera, self._decode, camera, item)
            if frame is None:
                continue
            step = self._guard(camera, self._begin, frame)
            if isinstance(step, PipelineOutput):  # propagated: published before the engine runs
                self._guard(camera, self._finish, frame, step, sink)
            elif step is not None:
                waiting.append((frame, step))
        results = self._segment([(frame.camera.index, request.rgb) for frame, request in waiting])
        for (frame, request), result in zip(waiting, results, strict=True):
            if isinstance(result, Exception):
                self.reject(frame.camera, result)
                continue
            out = self._guard(frame.camera, frame.camera.pipeline.complete, request, result)
            if out is not None:
                self._guard(frame.camera, self._finish, frame, out, sink)

    def reject(self, camera: CameraStream, exc: Exception) -> None:
        """Count and name a frame that could not be processed; the camera goes on."""
        error = str(exc) if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
        camera.count(frames_invalid=1)
        camera.error(error)
        self.notices.error(f"frame rejected{camera.where}: {error}", key=f"rejected:{camera.name}")

    def _guard(self, camera: CameraStream, step, *args):
        """Run one step of one camera's frame; a failure rejects that frame only."""
        try:
            return step(*args)
        except OutputsClosedError:  # the node is going down with this frame in flight: counted, not an error
            camera.count(frames_dropped_at_stop=1)
            return None
        except Exception as exc:  # keep running on anything a frame can cause
            self.reject(camera, exc)
            return None

    def _decode(self, camera: CameraStream, item: FrameIn) -> _Frame:
        t0 = time.perf_counter()
        rgb = item.decode()
        arrival = item.arrival
        if arrival.stamp_ns == 0:
            camera.count(frames_unstamped=1)
            self.notices.once("images arrive with stamp 0 (header not set by the camera driver): processing"
                              " them at their arrival time; latency is not measured for them", key="unstamped")
        elif not arrival.timed:
            camera.count(frames_stamp_off_clock=1)
            self.notices.once(f"image stamps are {(arrival.arrival_ns - arrival.stamp_ns) * 1e-9:.1f} s off the"
                              " receiving clock (use_sim_time set on one side only, or an unsynchronised camera"
                              " clock): latency is not measured for these frames", key="off_clock")
        frame_id = self.options.frame_id_override or item.frame_id
        return _Frame(camera, arrival, rgb, arrival.stamp_to_use, frame_id, time.perf_counter() - t0)

    def _begin(self, frame: _Frame):
        try:
            return frame.camera.pipeline.begin(frame.rgb, frame.stamp_ns, frame.frame_id)
        except StampWentBackwardsError:
            self._stamps_went_backwards(frame.camera)
            return frame.camera.pipeline.begin(frame.rgb, frame.stamp_ns, frame.frame_id)

    def _stamps_went_backwards(self, camera: CameraStream) -> None:
        self.notices.warning(f"image stamps went backwards{camera.where} (bag loop or clock reset): tracks reset",
                             key=f"backwards:{camera.name}")
        camera.count(pipeline_resets=1)
        camera.pipeline.reset()
        self.three_d.reset(camera.index)

    def _segment(self, images: list) -> list:
        """One engine call for every frame that needs it; per frame its result, or the exception it caused."""
        if not images:
            return []
        t0 = time.perf_counter()
        try:
            results = self.segmenter.segment_batch(images)
        except Exception:  # one frame's fault? run them alone, so only that one is rejected
            results = []
            for image in images:
                try:
                    results.extend(self.segmenter.segment_batch([image]))
                except Exception as exc:
                    results.append(exc)
        seconds = time.perf_counter() - t0
        size, calls = (len(images), 1) if self.segmenter.batches else (1, len(images))
        self._batch_sizes[size] += calls
        self._engine_stats.add(f"batch_{size}", seconds / calls)
        return results

    # -- publishing -------------------------------------------------------------------
    def _finish(self, frame: _Frame, out: PipelineOutput, sink: FrameSink) -> None:
        camera = frame.camera
        if out.resized_from is not None:
            camera.count(pipeline_resets=1)
            (h, w), result = out.resized_from, out.frame
            self.notices.warning(f"image size changed{camera.where} from {w}x{h} to {result.width}x{result.height}:"
                                 " tracking restarted (new track ids)", key=f"resized:{camera.name}", period_s=0.0)
        options = self.options
        published = out.frame.published(options.publish_tentative, options.class_filter)
        t0 = time.perf_counter()
        sink.publish_2d(Published2D(camera.id, frame.arrival, self.three_d.renamed(published), frame.rgb,
                                     out.keyframe_reason, out.timings_s))
        publish_s = time.perf_counter() - t0
        if frame.arrival.timed and self._clock_ns is not None:
            camera.stats.add("end_to_end", (self._clock_ns() - frame.stamp_ns) * 1e-9)
        if frame.arrival.received_s is not None:  # the node's own share: image callback -> 2D out, less the engine
            camera.stats.add("beyond_engine", time.monotonic() - frame.arrival.received_s
                             - out.timings_s.get("engine", 0.0))
        if camera.index in self.three_d.cameras:
            publish_s += self.three_d.add(camera, frame.arrival, published, sink)
        camera.count(frames_processed=1, keyframes=int(out.frame.keyframe))
        camera.output_rate.tick()
        if frame.arrival.received_s is not None:
            camera.stats.add("queue_wait", time.monotonic() - frame.arrival.received_s - frame.decode_s - publish_s
                             - sum(out.timings_s.values()))
        camera.stats.add("convert", frame.decode_s)
        camera.stats.add("publish", publish_s)
        for stage, seconds in out.timings_s.items():
            camera.stats.add(stage, seconds)
