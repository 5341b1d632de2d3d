"""The node's publishers: created together at configure, destroyed together at cleanup.

Per camera, one publisher per output of the catalogue (core/outputs/
catalogue.py) that runs: ~/<prefix>instances, labels, overlay, detections
and, with use_depth, instances_3d, markers, points, detections_3d (and with
a target_frame remembered, transient local, sent when it changes); for the
node, ~/label_info (transient local, sent at activate and when the score
tracks start from changes) and /diagnostics. Which outputs run is decided
once by vis_ros.core.config.output_selection, from the settings and which of
the optional packages (vision_msgs, moveit_msgs, tf2_ros; core/config/
optional_packages.py) import here; the ones asked for that cannot run are
named once at configure, with why, and on /diagnostics (`outputs_off`).
Every publisher (and the TF listener) is made through the node's Entities
of its configure stage, which destroys them all at cleanup.

NodeOutputs is the stream runner's FrameSink: the runner hands it each
camera's published frame, and it publishes the bytes io/frame_messages.py
makes of it, the same bytes `vis-ros process-bag` writes to a bag, skipping
an output nobody subscribes to where the catalogue says it is built on
demand. The 3D branch (ThreeDOutputs) adds MoveIt's collision objects. With
a target_frame, NodeOutputs also holds the TF listener and the transform
source (ros/transforms.py) the runner's 3D stage asks, without waiting.
"""
from __future__ import annotations

import contextlib
import importlib

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from vis_ros.core.config.optional_packages import import_packages
from vis_ros.core.config.output_selection import packages_needed, plan_outputs
from vis_ros.core.config.settings import NodeSettings
from vis_ros.core.outputs.catalogue import BY_NAME, OutputSpec, Scope, output_topic
from vis_ros.core.pipeline.reports import CameraReport, EngineReport
from vis_ros.core.pipeline.results import OutputsClosedError, Published2D, Published3D
from vis_ros.core.streaming.input_health import InputReport
from vis_ros.io.frame_messages import CameraMessages
from vis_ros.io.output_messages import OutputMessages
from vis_ros.ros.diagnostics import camera_status, diagnostics_msg, engine_status
from vis_ros.ros.entities import Entities
from vis_ros.ros.three_d import ThreeDOutputs
from vis_ros.ros.transforms import Tf2Transforms

FRAME_QOS = QoSProfile(depth=5)
# sent when it changes; a late subscriber gets the last one
LATCHED_QOS = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)


def message_class(spec: OutputSpec):
    """Return the rclpy message class of an output ("vision_msgs/msg/LabelInfo" -> vision_msgs.msg.LabelInfo)."""
    package, _, name = spec.msg_type.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


class CameraOutputs:
    """One camera's publishers, one per running output of its scopes, and its messages."""

    def __init__(self, entities: Entities, settings: NodeSettings, plan, name: str, packages: dict,
                 messages: OutputMessages):
        self.name = name
        outputs = [spec for spec in plan.outputs if spec.scope is not Scope.NODE]
        self.frames = CameraMessages(messages, outputs)
        self.publishers = {spec.name: entities.publisher(message_class(spec), f"~/{output_topic(spec, name)}",
                                                         LATCHED_QOS if spec.latched else FRAME_QOS)
                           for spec in outputs}
        self.three_d = ThreeDOutputs(entities, settings.depth, plan, packages) if plan.three_d else None

    def wanted(self, spec: OutputSpec) -> bool:
        """Whether to build an output now: always, or while someone subscribes where it is built on demand."""
        return not spec.on_demand or self.publishers[spec.name].get_subscription_count() > 0

    def publish_2d(self, result: Published2D, settings: NodeSettings) -> None:
        """Publish a frame's 2D outputs."""
        for spec, data in self.frames.of_2d(result, settings, self.wanted):
            self.publishers[spec.name].publish(data)

    def publish_3d(self, result: Published3D, settings: NodeSettings) -> None:
        """Publish a fused frame's 3D outputs (in target_frame where one is set), then the collision objects."""
        for spec, data in self.frames.of_3d(result, settings, self.wanted):
            self.publishers[spec.name].publish(data)
        self.three_d.place_collision_objects(result)


class NodeOutputs:
    """The node's publishers while configured, and the runner's FrameSink; see the module docstring."""

    def __init__(self, entities: Entities, settings: NodeSettings):
        node = entities.node
        self.node, self.settings = node, settings
        self.cameras: list[CameraOutputs] = []
        self.label_info = None
        self._label_info_sent: tuple | None = None
        self.transforms = None  # the camera's pose in target_frame (ros/transforms.py), for the runner's 3D stage
        packages, unavailable = import_packages(packages_needed(settings))
        self.plan = plan_outputs(settings, unavailable)
        self.messages = OutputMessages()
        self.diagnostics = entities.publisher(DiagnosticArray, "/diagnostics", 10)
        if self.plan.has("label_info"):
            spec = BY_NAME["label_info"]
            self.label_info = entities.publisher(message_class(spec), f"~/{output_topic(spec)}", LATCHED_QOS)
        if self.plan.listen_to_tf:  # one listener for every camera (its /tf subscriptions are the node's)
            tf2_ros = packages["tf2_ros"]
            tf_buffer = tf2_ros.Buffer()
            entities.made_by("TF listener", lambda: tf2_ros.TransformListener(tf_buffer, node),
                             lambda listener: listener.unregister())  # destroys its /tf, /tf_static subscriptions
            self.transforms = Tf2Transforms(tf2_ros, tf_buffer, settings.depth.target_frame)
        for name in settings.inputs.cameras or ("",):
            self.cameras.append(CameraOutputs(entities, settings, self.plan, name, packages, self.messages))
        if self.plan.off:
            node.get_logger().warning(f"outputs off: {'; '.join(self.plan.off)}")

    def reconfigure(self, settings: NodeSettings) -> None:
        """Take run-time changed settings (from the worker thread, between batches)."""
        self.settings = settings
        for camera in self.cameras:
            if camera.three_d is not None:
                camera.three_d.reconfigure(settings.depth)

    def publish_2d(self, result: Published2D) -> None:
        """FrameSink: publish a camera's 2D outputs."""
        with self._closing():
            self.cameras[result.camera.index].publish_2d(result, self.settings)

    def publish_3d(self, result: Published3D) -> None:
        """FrameSink: publish a camera's 3D outputs."""
        with self._closing():
            self.cameras[result.camera.index].publish_3d(result, self.settings)

    def without_3d(self, camera: int, frame) -> None:
        """FrameSink: nothing is published for a frame without 3D (its cause is on /diagnostics)."""

    @contextlib.contextmanager
    def _closing(self):
        """Turn a publish that fails because ROS is shutting down into the runner's OutputsClosedError."""
        try:
            yield
        except Exception:
            if not self.node.context.ok():
                raise OutputsClosedError("ROS is shutting down") from None
            raise

    def announce_labels(self, class_names, threshold: float) -> None:
        """Publish ~/label_info if it is new (first activate after configure, a new threshold)."""
        if self.label_info is None or self._label_info_sent == (tuple(class_names), threshold):
            return
        self.label_info.publish(self.messages.label_info(self.node.get_clock().now().nanoseconds, class_names,
                                                         threshold))
        self._label_info_sent = (tuple(class_names), threshold)

    def withdraw(self) -> None:
        """Take back what must not outlive activity (the collision objects), before deactivating."""
        for camera in self.cameras:
            if camera.three_d is not None:
                camera.three_d.withdraw()

    def publish_diagnostics(self, backend: str, cameras: list[CameraReport], inputs: list[InputReport | None],
                            engine: EngineReport, active: bool) -> None:
        """Publish one DiagnosticArray (a status per camera, then the engine's), if the publisher is active."""
        if not self.diagnostics.is_activated:
            return
        name, off = self.node.get_name(), "; ".join(self.plan.off)
        statuses = [camera_status(name, backend, report, input_report, active, off)
                    for report, input_report in zip(cameras, inputs, strict=True)]
        statuses.append(engine_status(name, backend, engine))
        self.diagnostics.publish(diagnostics_msg(self.node.get_clock().now().to_msg(), statuses))
