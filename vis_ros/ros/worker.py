"""The node's processing thread: the cameras' newest frames -> the stream runner -> the node's outputs.

Image callbacks only count the frame (InputHealth, rates, transport age) and
hand the message to its camera's one-frame slot (vis_ros.core.streaming.
camera_batches); they never wait for inference. This thread takes a batch
(every camera with a frame waiting, at most max_batch) and gives it to the
stream runner (vis_ros.core.pipeline.runner), which does everything per
frame: decoding, keyframes and flow, the one engine call, tracking, 3D,
counting, and handing results to the node's outputs to publish. The worker
keeps only what is the node's: the thread, its inputs' counts and the
message -> image conversion.

3D waits for depth without holding anything up: a frame waiting for its
depth sits in its camera's 3D queue, and the thread wakes when a depth pair
arrives (the gate's wake) or the frame's wait runs out.

Run-time parameter changes never wait for inference: the parameter callback
leaves the new settings here, and this thread takes them between batches.
The worker creates no ROS entity: the node gives it the outputs it made at
configure and the depth pairs its inputs keep while active.
"""
from __future__ import annotations

import threading
import time
from functools import partial

from vis_ros.core import native
from vis_ros.core.config.factories import build_runner, build_segmenter, depth_sources
from vis_ros.core.config.settings import NodeSettings
from vis_ros.core.data.stamps import stamp_to_ns
from vis_ros.core.outputs.catalogue import camera_prefix
from vis_ros.core.pipeline.reports import CameraReport, EngineReport, InputCounts
from vis_ros.core.pipeline.results import Arrival, FrameIn
from vis_ros.core.streaming.camera_batches import BatchGate
from vis_ros.core.streaming.input_health import InputHealth
from vis_ros.core.streaming.notices import Notices
from vis_ros.core.streaming.rolling_stats import RateMeter
from vis_ros.ros.image_msgs import rgb_from_msg
from vis_ros.ros.outputs import NodeOutputs

IDLE_WAIT_S = 0.2  # the thread checks for stop this often when no frame comes


class PipelineWorker:
    """The node's processing thread, its engine and its cameras; see the module docstring."""

    def __init__(self, node, settings: NodeSettings, outputs: NodeOutputs):
        self.node, self.settings, self.outputs = node, settings, outputs
        self.segmenter = build_segmenter(settings)
        names = list(settings.inputs.cameras or ("",))
        self.gate = BatchGate(len(names), settings.batch.max_batch, settings.batch.batch_wait_ms / 1000.0)
        # each camera's depth source: fed by its subscriptions while active, read by the runner's 3D stage
        topics = [(node.resolve_topic_name(f"{camera_prefix(name)}depth"),
                   node.resolve_topic_name(f"{camera_prefix(name)}camera_info")) if settings.inputs.use_depth else None
                  for name in names]
        self.depth = depth_sources(settings, topics, on_pair=self.gate.wake)
        self.runner = build_runner(settings, self.segmenter, Notices(node.get_logger()), clock_ns=self._now_ns,
                                   now_ns=self._now_ns, depth=self.depth, transforms=outputs.transforms)
        self.cameras = self.runner.cameras
        self.input_health = [InputHealth(f"{camera_prefix(c.name)}image") for c in self.cameras]
        self._input_rates = [RateMeter() for _ in self.cameras]
        self._lock = threading.Lock()  # guards _pending and _thread, never held across inference
        self._pending: NodeSettings | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is processing frames (between activate and deactivate)."""
        return self._thread is not None

    def describe(self) -> str:
        """Name the model, backend, input size, classes, cameras and kernel path, for the log."""
        segmenter = self.segmenter
        precision = f" [{segmenter.precision}]" if segmenter.precision else ""
        cameras = ""
        if len(self.cameras) > 1 or self.cameras[0].name:
            batching = (f"batched up to {self.settings.batch.max_batch} per engine call" if segmenter.batches
                        else "one after another (the model has a fixed batch of 1)")
            cameras = f"; cameras {[c.name for c in self.cameras]}, {batching}"
        return (f"{segmenter.model_path.name}{precision} on {segmenter.backend.describe()},"
                f" {segmenter.describe()}{cameras};"
                f" masks on {native.describe()}")

    def request_settings(self, settings: NodeSettings) -> None:
        """Take run-time changed parameters: applied between batches, never waiting for the engine."""
        with self._lock:
            if self._thread is not None:
                self._pending = settings
                return
        self._apply(settings)  # no thread: nothing runs concurrently

    def _apply(self, settings: NodeSettings) -> None:
        self.settings = settings
        self.runner.apply(settings.runner)
        self.gate.configure(settings.batch.max_batch, settings.batch.batch_wait_ms / 1000.0)
        self.outputs.reconfigure(settings)
        if self.running:
            self.outputs.announce_labels(self.segmenter.class_names, self.start_score())

    def start_score(self) -> float:
        """Return the score tracks start from: LabelInfo's threshold."""
        return self.settings.tracker.high_score

    def image_callback(self, camera: int):
        """Return the subscription callback of camera `camera` (takes the message and its MessageInfo)."""
        return partial(self.on_image, camera)

    def on_image(self, camera: int, msg, info) -> None:
        """Count an image and hand it to the worker (the subscription callback: never waits for inference).

        `info` is rclpy's MessageInfo: its publication sequence numbers reveal
        frames the middleware never delivered.
        """
        now_s, now_ns = time.monotonic(), self._now_ns()
        arrival = Arrival(stamp_to_ns(msg.header.stamp), now_ns, now_s)
        self._input_rates[camera].tick(now_s)
        publisher = (info.get("publisher_gid") or {}).get("data")
        self.input_health[camera].on_received(now_s, arrival.stamp_ns, publisher,
                                              info.get("publication_sequence_number"))
        if arrival.timed:  # transport age: image stamp -> this callback (middleware and executor delay)
            self.cameras[camera].stats.add("transport", (now_ns - arrival.stamp_ns) * 1e-9)
        self.gate.put(camera, (msg, arrival), now_s)

    def start(self) -> None:
        """Process frames on a thread; depth from an earlier activation is forgotten."""
        for source in self.depth:
            if source is not None:
                source.clear()
        self.gate.reopen()
        with self._lock:
            self._thread = threading.Thread(target=self._loop, name="vis_ros_worker", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop taking frames and wait for the batch in progress."""
        with self._lock:
            thread, self._thread = self._thread, None
        self.gate.close()
        if thread is not None:
            thread.join(timeout=5.0)
        self.runner.service_3d(self.outputs, final=True)  # frames still waiting for depth: now or never
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self._apply(pending)

    def _loop(self) -> None:
        while self._thread is not None:
            with self._lock:
                pending, self._pending = self._pending, None
            if pending is not None:
                self._apply(pending)
            batch = self.gate.take(timeout=self._until_next_3d_deadline_s())
            if batch:
                self.runner.run_batch([FrameIn(index, arrival, msg.header.frame_id, partial(rgb_from_msg, msg))
                                       for index, (msg, arrival) in batch], self.outputs)
            self.runner.service_3d(self.outputs)  # depth that came since, and waits that ran out

    def _until_next_3d_deadline_s(self) -> float:
        deadline = self.runner.next_3d_deadline_ns()
        return IDLE_WAIT_S if deadline is None else min(IDLE_WAIT_S, max(deadline - self._now_ns(), 0) * 1e-9)

    def reports(self) -> tuple[list[CameraReport], EngineReport]:
        """Every camera's report (with what its input counted) and the engine's."""
        cameras = []
        for camera, health, rate in zip(self.cameras, self.input_health, self._input_rates, strict=True):
            slot = self.gate.slots[camera.index].counters
            inputs = InputCounts(slot.received, slot.dropped_stale, health.lost, rate.rate())
            cameras.append(self.runner.report(camera.index, inputs))
        return cameras, self.runner.engine_report()

    def _now_ns(self) -> int:
        return self.node.get_clock().now().nanoseconds
