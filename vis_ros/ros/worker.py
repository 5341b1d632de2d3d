"""Processing worker of the node: newest frame -> pipeline -> publish.

Image callbacks only hand the message to a one-frame slot (LatestFrameSlot);
this thread converts it, runs engine / tracking / propagation, and
publishes. A frame is processed, dropped as stale (a newer one arrived
first), or rejected as invalid (logged, throttled): each is counted.
End-to-end latency is measured from the image stamp to publishing.
"""
from __future__ import annotations

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image

from vis_ros.core import native
from vis_ros.core.engine.decoder import Decoder
from vis_ros.core.engine.errors import EngineError
from vis_ros.core.frame_slot import LatestFrameSlot
from vis_ros.core.input_watch import InputWatch
from vis_ros.core.instances import InstanceFrame
from vis_ros.core.overlay import draw_overlay
from vis_ros.core.pipeline import SegmentTrackPipeline
from vis_ros.core.rolling_stats import RateMeter, RollingStats
from vis_ros.core.tracking.tracker import StampWentBackwards, Tracker
from vis_ros.msg import InstanceArray
from vis_ros.ros import parameters as P
from vis_ros.ros.convert import header_msg, stamp_to_ns
from vis_ros.ros.diagnostics import diagnostics_msg
from vis_ros.core.labels import label_image
from vis_ros.ros.image_msgs import image_msg, rgb_from_msg
from vis_ros.ros.instance_wire import serialize_instance_array


class PipelineWorker:
    def __init__(self, node, values: dict):
        self.node, self.values = node, dict(values)
        self.segmenter = P.build_segmenter(values)
        self.segmenter.warm_up()
        self.pipeline = SegmentTrackPipeline(self.segmenter, Tracker(P.tracker_config(values)),
                                             P.pipeline_config(values))
        self.slot = LatestFrameSlot()
        self.stats = RollingStats()
        self.input_rate, self.output_rate = RateMeter(), RateMeter()
        self.counters = {"frames_processed": 0, "frames_invalid": 0, "keyframes": 0, "pipeline_resets": 0,
                         "frames_without_3d": 0}
        self.depth_inputs = None  # set by the node on activate when use_depth
        self.three_d = None
        self.last_error = ""
        self.image_topic = ""  # resolved name, set by the node when it subscribes
        self.input_watch = InputWatch()
        self._params_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False
        self._diag_timer = None

    def describe(self) -> str:
        spec = self.segmenter.spec
        return (f"{self.segmenter.model_path.name} on {self.segmenter.backend.describe()},"
                f" input {spec.input_hw[1]}x{spec.input_hw[0]}, {spec.num_classes} classes;"
                f" masks on {native.describe()}")

    def create_publishers(self) -> dict:
        n = self.node
        qos = QoSProfile(depth=5)
        pubs = {"instances": n.create_lifecycle_publisher(InstanceArray, "~/instances", qos),
                "labels": n.create_lifecycle_publisher(Image, "~/labels", qos),
                "overlay": n.create_lifecycle_publisher(Image, "~/overlay", qos),
                "diagnostics": n.create_lifecycle_publisher(DiagnosticArray, "/diagnostics", 10)}
        if self.values["use_depth"]:
            from vis_ros.ros.three_d import ThreeDOutputs

            self.three_d = ThreeDOutputs(n, self.values)
            pubs.update(self.three_d.publishers)
        self.publishers = pubs
        self._diag_timer = n.create_timer(self.values["diagnostics_period"], self.publish_diagnostics)
        return pubs

    def apply_parameters(self, values: dict) -> None:
        """Run-time changes of the non-read-only parameters (already validated)."""
        with self._params_lock:
            self.values = dict(values)
            self.segmenter.decode = Decoder(self.segmenter.class_names, P.decoder_config(values))
            self.pipeline.tracker.config = P.tracker_config(values)
            self.pipeline.config = P.pipeline_config(values)

    # -- threads ----------------------------------------------------------------------
    def on_image(self, msg) -> None:
        self.input_rate.tick()
        # Transport age: image stamp -> this callback (middleware and executor delay).
        self.stats.add("transport", (self.node.get_clock().now().nanoseconds - stamp_to_ns(msg.header.stamp)) * 1e-9)
        self.slot.put((msg, time.monotonic()))

    def start(self) -> None:
        self.slot.reopen()
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="vis_ros_worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        self.slot.close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def close(self) -> None:
        if self._diag_timer is not None:
            self.node.destroy_timer(self._diag_timer)
            self._diag_timer = None

    def _loop(self) -> None:
        while self._running:
            item = self.slot.take(timeout=0.2)
            if item is None:
                continue
            msg, received = item
            try:
                self._process(msg, received)
            except EngineError as exc:
                self._reject(str(exc))
            except Exception as exc:  # keep running on anything a frame can cause
                self._reject(f"{type(exc).__name__}: {exc}")

    def _reject(self, error: str) -> None:
        self.counters["frames_invalid"] += 1
        self.last_error = error
        self.node.get_logger().error(f"frame rejected: {error}", throttle_duration_sec=2.0)

    def _process(self, msg, received: float) -> None:
        t0 = time.perf_counter()
        rgb = rgb_from_msg(msg)
        stamp_ns = stamp_to_ns(msg.header.stamp)
        frame_id = self.values["frame_id_override"] or msg.header.frame_id
        convert_s = time.perf_counter() - t0
        with self._params_lock:
            try:
                out = self.pipeline.process(rgb, stamp_ns, frame_id)
            except StampWentBackwards:
                self.node.get_logger().warning("image stamps went backwards (bag loop or clock reset):"
                                            " tracks reset", throttle_duration_sec=5.0)
                self.counters["pipeline_resets"] += 1
                self.pipeline.reset()
                out = self.pipeline.process(rgb, stamp_ns, frame_id)
            values = self.values
        t1 = time.perf_counter()  # publishing starts with choosing what to publish
        frame = out.frame.published(values["publish_tentative"], values["class_filter"])
        self.publishers["instances"].publish(serialize_instance_array(frame))
        labels_wanted = values["publish_labels"] and self.publishers["labels"].get_subscription_count() > 0
        overlay_wanted = values["publish_overlay"] and self.publishers["overlay"].get_subscription_count() > 0
        header = header_msg(stamp_ns, frame_id) if labels_wanted or overlay_wanted else None
        if labels_wanted:
            labels = label_image(frame.instances, frame.height, frame.width)
            self.publishers["labels"].publish(image_msg(header, labels, "16UC1"))
        if overlay_wanted:
            picture = draw_overlay(rgb, [(i.box, i.mask) for i in frame.instances],
                                   [f"{i.track_id} {i.class_name}" for i in frame.instances],
                                   [i.track_id for i in frame.instances])
            self.publishers["overlay"].publish(image_msg(header, picture, "rgb8"))
        if self.three_d is not None:
            t2 = time.perf_counter()
            self._publish_3d(frame, values)
            self.stats.add("fusion", time.perf_counter() - t2)
        publish_s = time.perf_counter() - t1
        self._record(out, stamp_ns, received, convert_s, publish_s)

    def _publish_3d(self, frame: InstanceFrame, values: dict) -> None:
        depth, info = self.depth_inputs.lookup(frame.stamp_ns)
        if depth is None:
            self.counters["frames_without_3d"] += 1
            self.node.get_logger().warning(f"3D skipped: {info}", throttle_duration_sec=5.0)
            return
        try:
            self.three_d.publish(frame, depth, info, values)
        except EngineError as exc:  # bad depth encoding or size, bad CameraInfo
            self.counters["frames_without_3d"] += 1
            self.last_error = str(exc)
            self.node.get_logger().error(f"3D skipped: {exc}", throttle_duration_sec=2.0)

    def _record(self, out, stamp_ns: int, received: float, convert_s: float, publish_s: float) -> None:
        self.counters["frames_processed"] += 1
        self.counters["keyframes"] += int(out.frame.keyframe)
        self.output_rate.tick()
        now_ns = self.node.get_clock().now().nanoseconds
        self.stats.add("end_to_end", (now_ns - stamp_ns) * 1e-9)
        self.stats.add("queue_wait", time.monotonic() - received - convert_s - publish_s -
                       sum(out.timings_s.values()))
        self.stats.add("convert", convert_s)
        self.stats.add("publish", publish_s)
        for stage, seconds in out.timings_s.items():
            self.stats.add(stage, seconds)

    def snapshot(self) -> dict:
        """Counters, rates and latency percentiles (ms), for diagnostics and tests."""
        c = self.slot.counters
        counters = {"frames_received": c.received, "frames_dropped_stale": c.dropped_stale, **self.counters}
        latencies = {}
        for name in self.stats.names():
            pct = self.stats.percentiles(name)
            latencies[name] = None if pct is None else (pct[0] * 1000.0, pct[1] * 1000.0)
        return {"counters": counters, "rates": {"input": self.input_rate.rate(), "output": self.output_rate.rate()},
                "latency_ms": latencies}

    def publish_diagnostics(self) -> None:
        snap = self.snapshot()
        if self._running and self.image_topic:
            warning = self.input_watch.check(time.monotonic(), snap["counters"]["frames_received"],
                                             self.node.count_publishers(self.image_topic), self.image_topic)
            if warning:
                self.node.get_logger().warning(warning, throttle_duration_sec=30.0)
        pub = self.publishers.get("diagnostics")
        if pub is None or not pub.is_activated:
            return
        pub.publish(diagnostics_msg(self.node.get_clock().now().to_msg(), self.node.get_name(),
                                    self.segmenter.backend.describe(), snap["counters"], snap["rates"],
                                    snap["latency_ms"], self.last_error, self._running))
