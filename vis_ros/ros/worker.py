"""Processing worker of the node: newest frame -> pipeline -> outputs.

Image callbacks only hand the message to a one-frame slot (LatestFrameSlot);
this thread converts it, runs engine / tracking / propagation, and hands the
result to the node's outputs. A frame is processed, dropped as stale (a newer
one arrived first), or rejected as invalid (logged, throttled): each is
counted, and so are frames the middleware lost on the way (InputHealth).
End-to-end latency is measured from the image stamp to publishing.

Input stamps never poison a statistic or the tracker: an image stamped 0
(an unset header) is processed at its arrival time, counted in
`frames_unstamped` and warned about once; a stamp more than
MAX_CLOCK_OFFSET_S away from this node's clock (use_sim_time on one side
only, an unsynchronised camera clock) is used as it is for tracking and
outputs but kept out of the latency statistics, counted in
`frames_stamp_off_clock` and warned about once.

The worker creates no ROS entity: the node gives it the outputs it made at
configure and the depth source it made at activate, and destroys both.
"""
from __future__ import annotations

import threading
import time
from typing import NamedTuple

from vis_ros.core import native
from vis_ros.core.engine.errors import EngineError
from vis_ros.core.frame_slot import LatestFrameSlot
from vis_ros.core.input_health import InputHealth
from vis_ros.core.rolling_stats import RateMeter, RollingStats
from vis_ros.core.settings import NodeSettings, build_pipeline
from vis_ros.core.stamps import stamp_to_ns
from vis_ros.core.tracking.tracker import StampWentBackwardsError
from vis_ros.core.warn_once import WarnOnce
from vis_ros.ros.image_msgs import rgb_from_msg

MAX_CLOCK_OFFSET_S = 10.0


class _Arrival(NamedTuple):
    """When a frame arrived and what its stamp is worth, judged once in the callback."""

    received_s: float  # monotonic
    arrival_ns: int  # node clock
    stamp_ns: int
    timed: bool  # stamp set and within MAX_CLOCK_OFFSET_S of the node's clock: latency measurable


class PipelineWorker:
    """The node's processing thread and its pipeline; see the module docstring."""

    def __init__(self, node, settings: NodeSettings, outputs):
        self.node, self.settings, self.outputs = node, settings, outputs
        self.pipeline = build_pipeline(settings)
        self.segmenter = self.pipeline.segmenter
        self.segmenter.warm_up()
        self.slot = LatestFrameSlot()
        self.stats = RollingStats()
        self.input_rate, self.output_rate = RateMeter(), RateMeter()
        self.counters = {"frames_processed": 0, "frames_invalid": 0, "keyframes": 0, "pipeline_resets": 0,
                         "frames_without_3d": 0, "frames_unstamped": 0, "frames_stamp_off_clock": 0}
        self.input_health = InputHealth("image")
        self.last_error = ""
        self._last_error_s: float | None = None
        self._warn_once = WarnOnce(node.get_logger())
        self._depth = None  # the node's DepthInputs while active with use_depth
        self._settings_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False

    @property
    def running(self) -> bool:
        """Whether the thread is processing frames (between activate and deactivate)."""
        return self._running

    def describe(self) -> str:
        """Name the model, backend, input size, classes and kernel path, for the log."""
        spec = self.segmenter.spec
        precision = f" [{self.segmenter.precision}]" if self.segmenter.precision else ""
        return (f"{self.segmenter.model_path.name}{precision} on {self.segmenter.backend.describe()},"
                f" input {spec.input_hw[1]}x{spec.input_hw[0]}, {spec.num_classes} classes;"
                f" masks on {native.describe()}")

    def reconfigure(self, settings: NodeSettings) -> None:
        """Run-time changes of the non-read-only parameters (already validated)."""
        with self._settings_lock:
            self.settings = settings
            self.pipeline.reconfigure(settings.pipeline, tracker=settings.tracker, decoder=settings.decoder)
        if self.outputs.three_d is not None:
            self.outputs.three_d.reconfigure(settings.depth)
        if self._running:
            self.outputs.announce_labels(self.segmenter.class_names, self.start_score())

    def start_score(self) -> float:
        """Return the score tracks start from: LabelInfo's threshold."""
        return self.settings.tracker.high_score

    # -- threads ----------------------------------------------------------------------
    def on_image(self, msg, info) -> None:
        """Hand an image to the worker (the subscription callback: never waits for inference).

        `info` is rclpy's MessageInfo: its publication sequence numbers reveal
        frames the middleware never delivered.
        """
        now_s, now_ns = time.monotonic(), self.node.get_clock().now().nanoseconds
        stamp_ns = stamp_to_ns(msg.header.stamp)
        self.input_rate.tick(now_s)
        publisher = (info.get("publisher_gid") or {}).get("data")
        self.input_health.on_received(now_s, stamp_ns, publisher, info.get("publication_sequence_number"))
        timed = stamp_ns != 0 and abs(now_ns - stamp_ns) <= MAX_CLOCK_OFFSET_S * 1e9
        if timed:  # transport age: image stamp -> this callback (middleware and executor delay)
            self.stats.add("transport", (now_ns - stamp_ns) * 1e-9)
        self.slot.put((msg, _Arrival(now_s, now_ns, stamp_ns, timed)))

    def start(self, depth=None) -> None:
        """Process frames on a thread, pairing them with `depth` (DepthInputs) if given."""
        self._depth = depth
        self.slot.reopen()
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="vis_ros_worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop taking frames and wait for the one in progress."""
        self._running = False
        self.slot.close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self._depth = None

    def _loop(self) -> None:
        while self._running:
            item = self.slot.take(timeout=0.2)
            if item is None:
                continue
            msg, arrival = item
            try:
                self._process(msg, arrival)
            except EngineError as exc:
                self._reject(str(exc))
            except Exception as exc:  # keep running on anything a frame can cause
                self._reject(f"{type(exc).__name__}: {exc}")

    def _reject(self, error: str) -> None:
        self.counters["frames_invalid"] += 1
        self._error(error)
        self.node.get_logger().error(f"frame rejected: {error}", throttle_duration_sec=2.0)

    def _error(self, error: str) -> None:
        self.last_error, self._last_error_s = error, time.monotonic()

    def _stamp(self, arrival: _Arrival) -> int:
        """Return the stamp to process the frame at; count and name an unusable input stamp."""
        if arrival.stamp_ns == 0:
            self.counters["frames_unstamped"] += 1
            self._warn_once("images arrive with stamp 0 (header not set by the camera driver): processing"
                            " them at their arrival time; latency is not measured for them", key="unstamped")
            return arrival.arrival_ns
        if not arrival.timed:
            self.counters["frames_stamp_off_clock"] += 1
            self._warn_once(f"image stamps are {(arrival.arrival_ns - arrival.stamp_ns) * 1e-9:.1f} s off this"
                            " node's clock (use_sim_time set on one side only, or an unsynchronised camera"
                            " clock): latency is not measured for these frames", key="off_clock")
        return arrival.stamp_ns

    def _process(self, msg, arrival: _Arrival) -> None:
        t0 = time.perf_counter()
        rgb = rgb_from_msg(msg)
        stamp_ns = self._stamp(arrival)
        convert_s = time.perf_counter() - t0
        with self._settings_lock:
            settings = self.settings
            frame_id = settings.outputs.frame_id_override or msg.header.frame_id
            try:
                out = self.pipeline.process(rgb, stamp_ns, frame_id)
            except StampWentBackwardsError:
                self.node.get_logger().warning("image stamps went backwards (bag loop or clock reset):"
                                               " tracks reset", throttle_duration_sec=5.0)
                self.counters["pipeline_resets"] += 1
                self.pipeline.reset()
                out = self.pipeline.process(rgb, stamp_ns, frame_id)
        t1 = time.perf_counter()  # publishing starts with choosing what to publish
        frame = self.outputs.publish_2d(out.frame, rgb, settings.outputs)
        if self.outputs.three_d is not None:
            t2 = time.perf_counter()
            self._publish_3d(frame, settings)
            self.stats.add("fusion", time.perf_counter() - t2)
        publish_s = time.perf_counter() - t1
        self._record(out, stamp_ns if arrival.timed else None, arrival.received_s, convert_s, publish_s)

    def _publish_3d(self, frame, settings: NodeSettings) -> None:
        depth, info = self._depth.lookup(frame.stamp_ns)
        if depth is None:
            self.counters["frames_without_3d"] += 1
            self.node.get_logger().warning(f"3D skipped: {info}", throttle_duration_sec=5.0)
            return
        try:
            self.outputs.three_d.publish(frame, depth, info, settings.depth)
        except EngineError as exc:  # bad depth encoding or size, bad CameraInfo
            self.counters["frames_without_3d"] += 1
            self._error(str(exc))
            self.node.get_logger().error(f"3D skipped: {exc}", throttle_duration_sec=2.0)

    def _record(self, out, stamp_ns: int | None, received: float, convert_s: float, publish_s: float) -> None:
        if out.resized_from is not None:
            self.counters["pipeline_resets"] += 1
            (h, w), frame = out.resized_from, out.frame
            self.node.get_logger().warning(f"image size changed from {w}x{h} to {frame.width}x{frame.height}:"
                                           " tracking restarted (new track ids)")
        self.counters["frames_processed"] += 1
        self.counters["keyframes"] += int(out.frame.keyframe)
        self.output_rate.tick()
        if stamp_ns is not None:
            self.stats.add("end_to_end", (self.node.get_clock().now().nanoseconds - stamp_ns) * 1e-9)
        self.stats.add("queue_wait", time.monotonic() - received - convert_s - publish_s -
                       sum(out.timings_s.values()))
        self.stats.add("convert", convert_s)
        self.stats.add("publish", publish_s)
        for stage, seconds in out.timings_s.items():
            self.stats.add(stage, seconds)

    def recent_error(self) -> tuple[str, float | None]:
        """Return the last error and its age in seconds (None: no error yet)."""
        age = None if self._last_error_s is None else time.monotonic() - self._last_error_s
        return self.last_error, age

    def snapshot(self) -> dict:
        """Counters, rates and latency percentiles (ms), for diagnostics and tests."""
        c = self.slot.counters
        counters = {"frames_received": c.received, "frames_dropped_stale": c.dropped_stale,
                    "frames_lost_in_transport": self.input_health.lost, **self.counters}
        latencies = {}
        for name in self.stats.names():
            pct = self.stats.percentiles(name)
            latencies[name] = None if pct is None else (pct[0] * 1000.0, pct[1] * 1000.0)
        return {"counters": counters, "rates": {"input": self.input_rate.rate(), "output": self.output_rate.rate()},
                "latency_ms": latencies}
