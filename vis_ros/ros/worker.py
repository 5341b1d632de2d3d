"""Processing worker of the node: the cameras' newest frames -> one engine -> outputs.

Image callbacks only hand the message to their camera's one-frame slot; this
thread takes a batch (vis_ros.core.camera_batches: every camera with a frame
waiting, at most max_batch, waiting up to batch_wait_ms only for cameras
expected within it), converts each frame and runs everything before the
engine per camera (keyframe decision, flow propagation). Propagated frames
are tracked and published at once, before the engine runs; the frames that
need the engine share one call (a model without a dynamic batch axis runs
them one after another), then each is tracked and published by its camera.
A frame is processed, dropped as stale (a newer one of its camera arrived
first), or rejected as invalid (logged, throttled): each is counted per
camera, and so are frames the middleware lost on the way (InputHealth).
End-to-end latency is measured from the image stamp to publishing.

Each camera has its own tracker, keyframe / flow state, depth pairing,
fusion, counters and statistics; track ids come from one source, so they are
unique across the node. One camera's bad frame or size change touches only
that camera.

Input stamps never poison a statistic or the tracker: an image stamped 0
(an unset header) is processed at its arrival time, counted in
`frames_unstamped` and warned about once; a stamp more than
MAX_CLOCK_OFFSET_S away from this node's clock (use_sim_time on one side
only, an unsynchronised camera clock) is used as it is for tracking and
outputs but kept out of the latency statistics, counted in
`frames_stamp_off_clock` and warned about once.

The worker creates no ROS entity: the node gives it the outputs it made at
configure and the depth sources it made at activate, and destroys both.
"""
from __future__ import annotations

import collections
import threading
import time
from functools import partial
from typing import NamedTuple

from vis_ros.core import native
from vis_ros.core.camera_batches import BatchGate
from vis_ros.core.engine.errors import EngineError
from vis_ros.core.input_health import InputHealth
from vis_ros.core.pipeline import EngineRequest, PipelineOutput
from vis_ros.core.rolling_stats import RateMeter, RollingStats
from vis_ros.core.settings import NodeSettings, build_pipeline, build_segmenter
from vis_ros.core.stamps import stamp_to_ns
from vis_ros.core.tracking.tracker import StampWentBackwardsError, TrackIds
from vis_ros.core.warn_once import WarnOnce
from vis_ros.ros.image_msgs import rgb_from_msg
from vis_ros.ros.outputs import camera_prefix

MAX_CLOCK_OFFSET_S = 10.0


class _Arrival(NamedTuple):
    """When a frame arrived and what its stamp is worth, judged once in the callback."""

    received_s: float  # monotonic
    arrival_ns: int  # node clock
    stamp_ns: int
    timed: bool  # stamp set and within MAX_CLOCK_OFFSET_S of the node's clock: latency measurable


class _Frame(NamedTuple):
    """A frame between its conversion and its publishing."""

    camera: CameraState
    rgb: object
    arrival: _Arrival
    stamp_ns: int
    convert_s: float


class CameraState:
    """One camera's pipeline, outputs, depth source, counters and statistics."""

    def __init__(self, index: int, name: str, pipeline, outputs, slot):
        self.index, self.name = index, name
        self.label = name or "pipeline"  # the /diagnostics status name (one unnamed camera: as before)
        self.pipeline, self.outputs, self.slot = pipeline, outputs, slot
        self.stats = RollingStats()
        self.input_rate, self.output_rate = RateMeter(), RateMeter()
        self.counters = {"frames_processed": 0, "frames_invalid": 0, "keyframes": 0, "pipeline_resets": 0,
                         "frames_without_3d": 0, "frames_unstamped": 0, "frames_stamp_off_clock": 0}
        self.input_health = InputHealth(f"{camera_prefix(name)}image")
        self.depth = None  # its DepthInputs while active with use_depth
        self.last_error = ""
        self._last_error_s: float | None = None

    def error(self, text: str) -> None:
        """Remember the camera's last error and when it happened."""
        self.last_error, self._last_error_s = text, time.monotonic()

    def recent_error(self) -> tuple[str, float | None]:
        """Return the last error and its age in seconds (None: no error yet)."""
        age = None if self._last_error_s is None else time.monotonic() - self._last_error_s
        return self.last_error, age

    def snapshot(self) -> dict:
        """Counters, rates and latency percentiles (ms), for diagnostics and tests."""
        c = self.slot.counters
        counters = {"frames_received": c.received, "frames_dropped_stale": c.dropped_stale,
                    "frames_lost_in_transport": self.input_health.lost, **self.counters}
        return {"counters": counters, "rates": {"input": self.input_rate.rate(), "output": self.output_rate.rate()},
                "latency_ms": _percentiles_ms(self.stats)}


def _percentiles_ms(stats: RollingStats) -> dict:
    latencies = {}
    for name in stats.names():
        pct = stats.percentiles(name)
        latencies[name] = None if pct is None else (pct[0] * 1000.0, pct[1] * 1000.0)
    return latencies


class PipelineWorker:
    """The node's processing thread, its engine and its cameras; see the module docstring."""

    def __init__(self, node, settings: NodeSettings, outputs):
        self.node, self.settings, self.outputs = node, settings, outputs
        self.segmenter = build_segmenter(settings)
        self.segmenter.warm_up()
        names = settings.inputs.cameras or ("",)
        self.gate = BatchGate(len(names), settings.batch.max_batch, settings.batch.batch_wait_ms / 1000.0)
        ids = TrackIds()  # one source: ids unique across the cameras
        self.cameras = [CameraState(i, name, build_pipeline(settings, self.segmenter, ids=ids, camera=i),
                                    outputs.cameras[i], self.gate.slots[i]) for i, name in enumerate(names)]
        self.batch_sizes: collections.Counter = collections.Counter()  # engine calls by images per call
        self.engine_stats = RollingStats()
        self._warn_once = WarnOnce(node.get_logger())
        self._settings_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False

    # Single-camera views (the unnamed camera, or the first one), for tools and tests.
    @property
    def counters(self) -> dict:
        """The first camera's counters."""
        return self.cameras[0].counters

    @property
    def input_health(self) -> InputHealth:
        """The first camera's input health."""
        return self.cameras[0].input_health

    @property
    def slot(self):
        """The first camera's frame slot."""
        return self.cameras[0].slot

    @property
    def last_error(self) -> str:
        """The first camera's last error."""
        return self.cameras[0].last_error

    @property
    def running(self) -> bool:
        """Whether the thread is processing frames (between activate and deactivate)."""
        return self._running

    def describe(self) -> str:
        """Name the model, backend, input size, classes, cameras and kernel path, for the log."""
        spec = self.segmenter.spec
        precision = f" [{self.segmenter.precision}]" if self.segmenter.precision else ""
        cameras = ""
        if len(self.cameras) > 1 or self.cameras[0].name:
            batching = (f"batched up to {self.settings.batch.max_batch} per engine call" if self.segmenter.batches
                        else "one after another (the model has a fixed batch of 1)")
            cameras = f"; cameras {[c.name for c in self.cameras]}, {batching}"
        return (f"{self.segmenter.model_path.name}{precision} on {self.segmenter.backend.describe()},"
                f" input {spec.input_hw[1]}x{spec.input_hw[0]}, {spec.num_classes} classes{cameras};"
                f" masks on {native.describe()}")

    def reconfigure(self, settings: NodeSettings) -> None:
        """Run-time changes of the non-read-only parameters (already validated)."""
        with self._settings_lock:
            self.settings = settings
            self.segmenter.reconfigure(settings.decoder)
            for camera in self.cameras:
                camera.pipeline.reconfigure(settings.pipeline, tracker=settings.tracker)
                if camera.outputs.three_d is not None:
                    camera.outputs.three_d.reconfigure(settings.depth)
            self.gate.configure(settings.batch.max_batch, settings.batch.batch_wait_ms / 1000.0)
        if self._running:
            self.outputs.announce_labels(self.segmenter.class_names, self.start_score())

    def start_score(self) -> float:
        """Return the score tracks start from: LabelInfo's threshold."""
        return self.settings.tracker.high_score

    def image_callback(self, camera: int):
        """Return the subscription callback of camera `camera` (takes the message and its MessageInfo)."""
        return partial(self.on_image, camera)

    # -- threads ----------------------------------------------------------------------
    def on_image(self, camera: int, msg, info) -> None:
        """Hand an image to the worker (the subscription callback: never waits for inference).

        `info` is rclpy's MessageInfo: its publication sequence numbers reveal
        frames the middleware never delivered.
        """
        state = self.cameras[camera]
        now_s, now_ns = time.monotonic(), self.node.get_clock().now().nanoseconds
        stamp_ns = stamp_to_ns(msg.header.stamp)
        state.input_rate.tick(now_s)
        publisher = (info.get("publisher_gid") or {}).get("data")
        state.input_health.on_received(now_s, stamp_ns, publisher, info.get("publication_sequence_number"))
        timed = stamp_ns != 0 and abs(now_ns - stamp_ns) <= MAX_CLOCK_OFFSET_S * 1e9
        if timed:  # transport age: image stamp -> this callback (middleware and executor delay)
            state.stats.add("transport", (now_ns - stamp_ns) * 1e-9)
        self.gate.put(camera, (msg, _Arrival(now_s, now_ns, stamp_ns, timed)), now_s)

    def start(self, depths=None) -> None:
        """Process frames on a thread, pairing each camera's with its DepthInputs in `depths` if given."""
        for camera, depth in zip(self.cameras, depths or [None] * len(self.cameras), strict=True):
            camera.depth = depth
        self.gate.reopen()
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="vis_ros_worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop taking frames and wait for the batch in progress."""
        self._running = False
        self.gate.close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        for camera in self.cameras:
            camera.depth = None

    def _loop(self) -> None:
        while self._running:
            batch = self.gate.take(timeout=0.2)
            if batch:
                self._process_batch(batch)

    def _process_batch(self, batch) -> None:
        with self._settings_lock:
            settings = self.settings
            waiting: list[tuple[_Frame, EngineRequest]] = []
            for index, (msg, arrival) in batch:
                camera = self.cameras[index]
                frame = self._guard(camera, self._convert, camera, msg, arrival)
                if frame is None:
                    continue
                frame_id = settings.outputs.frame_id_override or msg.header.frame_id
                step = self._guard(camera, self._begin, camera, frame, frame_id)
                if isinstance(step, PipelineOutput):  # propagated: published before the engine runs
                    self._guard(camera, self._publish, frame, step, settings)
                elif step is not None:
                    waiting.append((frame, step))
            for (frame, request), result in zip(waiting, self._segment(waiting), strict=True):
                camera = frame.camera
                if isinstance(result, Exception):
                    self._reject(camera, result)
                    continue
                out = self._guard(camera, self._complete, camera, request, result)
                if out is not None:
                    self._guard(camera, self._publish, frame, out, settings)

    def _guard(self, camera: CameraState, step, *args):
        """Run one step of one camera's frame; a failure rejects that frame only."""
        try:
            return step(*args)
        except Exception as exc:  # keep running on anything a frame can cause
            self._reject(camera, exc)
            return None

    def _reject(self, camera: CameraState, exc: Exception) -> None:
        error = str(exc) if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
        camera.counters["frames_invalid"] += 1
        camera.error(error)
        where = f" on {camera.name}" if camera.name else ""
        self.node.get_logger().error(f"frame rejected{where}: {error}", throttle_duration_sec=2.0)

    def _convert(self, camera: CameraState, msg, arrival: _Arrival) -> _Frame:
        t0 = time.perf_counter()
        rgb = rgb_from_msg(msg)
        stamp_ns = self._stamp(camera, arrival)
        return _Frame(camera, rgb, arrival, stamp_ns, time.perf_counter() - t0)

    def _stamp(self, camera: CameraState, arrival: _Arrival) -> int:
        """Return the stamp to process the frame at; count and name an unusable input stamp."""
        if arrival.stamp_ns == 0:
            camera.counters["frames_unstamped"] += 1
            self._warn_once("images arrive with stamp 0 (header not set by the camera driver): processing"
                            " them at their arrival time; latency is not measured for them", key="unstamped")
            return arrival.arrival_ns
        if not arrival.timed:
            camera.counters["frames_stamp_off_clock"] += 1
            self._warn_once(f"image stamps are {(arrival.arrival_ns - arrival.stamp_ns) * 1e-9:.1f} s off this"
                            " node's clock (use_sim_time set on one side only, or an unsynchronised camera"
                            " clock): latency is not measured for these frames", key="off_clock")
        return arrival.stamp_ns

    def _begin(self, camera: CameraState, frame: _Frame, frame_id: str):
        try:
            return camera.pipeline.begin(frame.rgb, frame.stamp_ns, frame_id)
        except StampWentBackwardsError:
            self._stamps_went_backwards(camera)
            return camera.pipeline.begin(frame.rgb, frame.stamp_ns, frame_id)

    def _complete(self, camera: CameraState, request: EngineRequest, result) -> PipelineOutput:
        try:
            return camera.pipeline.complete(request, result)
        except StampWentBackwardsError:
            self._stamps_went_backwards(camera)
            return camera.pipeline.process(request.rgb, request.stamp_ns, request.frame_id)

    def _stamps_went_backwards(self, camera: CameraState) -> None:
        where = f" on {camera.name}" if camera.name else ""
        self.node.get_logger().warning(f"image stamps went backwards{where} (bag loop or clock reset): tracks"
                                       " reset", throttle_duration_sec=5.0)
        camera.counters["pipeline_resets"] += 1
        camera.pipeline.reset()

    def _segment(self, waiting) -> list:
        """One engine call for every frame that needs it; per frame its result, or the exception it caused."""
        if not waiting:
            return []
        images = [(frame.camera.index, request.rgb) for frame, request in waiting]
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
        self.batch_sizes[size] += calls
        self.engine_stats.add(f"batch_{size}", seconds / calls)
        return results

    def _publish(self, frame: _Frame, out: PipelineOutput, settings: NodeSettings) -> None:
        camera = frame.camera
        t1 = time.perf_counter()  # publishing starts with choosing what to publish
        published = camera.outputs.publish_2d(out.frame, frame.rgb, settings.outputs)
        if camera.outputs.three_d is not None:
            t2 = time.perf_counter()
            self._publish_3d(camera, published, settings)
            camera.stats.add("fusion", time.perf_counter() - t2)
        publish_s = time.perf_counter() - t1
        self._record(camera, out, frame, publish_s)

    def _publish_3d(self, camera: CameraState, frame, settings: NodeSettings) -> None:
        depth, info = camera.depth.lookup(frame.stamp_ns)
        if depth is None:
            camera.counters["frames_without_3d"] += 1
            self.node.get_logger().warning(f"3D skipped: {info}", throttle_duration_sec=5.0)
            return
        try:
            camera.outputs.three_d.publish(frame, depth, info, settings.depth)
        except EngineError as exc:  # bad depth encoding or size, bad CameraInfo
            camera.counters["frames_without_3d"] += 1
            camera.error(str(exc))
            self.node.get_logger().error(f"3D skipped: {exc}", throttle_duration_sec=2.0)

    def _record(self, camera: CameraState, out: PipelineOutput, frame: _Frame, publish_s: float) -> None:
        if out.resized_from is not None:
            camera.counters["pipeline_resets"] += 1
            (h, w), result = out.resized_from, out.frame
            where = f" on {camera.name}" if camera.name else ""
            self.node.get_logger().warning(f"image size changed{where} from {w}x{h} to {result.width}x"
                                           f"{result.height}: tracking restarted (new track ids)")
        camera.counters["frames_processed"] += 1
        camera.counters["keyframes"] += int(out.frame.keyframe)
        camera.output_rate.tick()
        arrival = frame.arrival
        if arrival.timed:
            camera.stats.add("end_to_end", (self.node.get_clock().now().nanoseconds - frame.stamp_ns) * 1e-9)
        camera.stats.add("queue_wait", time.monotonic() - arrival.received_s - frame.convert_s - publish_s -
                         sum(out.timings_s.values()))
        camera.stats.add("convert", frame.convert_s)
        camera.stats.add("publish", publish_s)
        for stage, seconds in out.timings_s.items():
            camera.stats.add(stage, seconds)

    def recent_error(self) -> tuple[str, float | None]:
        """Return the first camera's last error and its age in seconds (None: no error yet)."""
        return self.cameras[0].recent_error()

    def snapshot(self, camera: int = 0) -> dict:
        """Counters, rates and latency percentiles (ms) of one camera, for diagnostics and tests."""
        return self.cameras[camera].snapshot()

    def engine_snapshot(self) -> dict:
        """Engine calls by batch size and engine time per call (ms) by batch size."""
        return {"batches": dict(sorted(self.batch_sizes.items())), "latency_ms": _percentiles_ms(self.engine_stats)}
