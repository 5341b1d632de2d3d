"""The node's publishers: created together at configure, destroyed together at cleanup.

Per camera: ~/<prefix>instances (always), labels and overlay (rendered only
while someone subscribes), detections (vision_msgs, built only while someone
subscribes) and, with use_depth, the 3D branch (ThreeDOutputs). For the node:
/diagnostics and ~/label_info (transient local, sent at activate and when the
score tracks start from changes). Which optional outputs run is decided once
by vis_ros.core.outputs.selection, from the settings and which of the
optional packages (vision_msgs, moveit_msgs, tf2_ros; core/config/
optional_packages.py) import here; the ones asked for that cannot run are
named once at configure, with why, and on /diagnostics (`outputs_off`).
Every publisher (and the TF listener) is made through the node's Entities
of its configure stage, which destroys them all at cleanup.

NodeOutputs is the stream runner's FrameSink: the runner hands it each
camera's published frame, and it only converts and publishes. Messages are
published as the bytes vis_ros.io.output_messages writes (InstanceArray:
io.instance_wire), the same bytes `vis-ros process-bag` writes to a bag.
"""
from __future__ import annotations

import contextlib

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from vis_ros.core.config.optional_packages import import_packages
from vis_ros.core.config.settings import NodeSettings
from vis_ros.core.outputs.selection import OutputPlan, packages_needed, plan_outputs
from vis_ros.core.pipeline.reports import CameraReport, EngineReport
from vis_ros.core.pipeline.results import OutputsClosedError, Published2D, Published3D
from vis_ros.core.streaming.input_health import InputReport
from vis_ros.io.instance_wire import serialize_instance_array
from vis_ros.io.output_messages import OutputMessages
from vis_ros.msg import InstanceArray
from vis_ros.ros.diagnostics import camera_status, diagnostics_msg, engine_status
from vis_ros.ros.entities import Entities
from vis_ros.ros.three_d import ThreeDOutputs


def camera_prefix(name: str) -> str:
    """Return the topic prefix of a camera: "" for the unnamed one, else "<name>/"."""
    return f"{name}/" if name else ""


class CameraOutputs:
    """One camera's publishers: ~/<prefix>instances, labels, overlay, detections and its 3D branch."""

    def __init__(self, entities: Entities, settings: NodeSettings, plan: OutputPlan, name: str, packages: dict,
                 tf_buffer, messages: OutputMessages):
        self.name, self.messages = name, messages
        vm = packages.get("vision_msgs")
        self.three_d = self.detections = None
        prefix = camera_prefix(name)
        qos = QoSProfile(depth=5)
        self.instances = entities.publisher(InstanceArray, f"~/{prefix}instances", qos)
        self.labels = entities.publisher(Image, f"~/{prefix}labels", qos)
        self.overlay = entities.publisher(Image, f"~/{prefix}overlay", qos)
        if plan.detections:
            self.detections = entities.publisher(vm.Detection2DArray, f"~/{prefix}detections", qos)
        if plan.three_d:
            self.three_d = ThreeDOutputs(entities, settings.depth, plan, packages, prefix, tf_buffer, messages)

    def publish_2d(self, result: Published2D, settings: NodeSettings) -> None:
        """Publish the instances (and labels / overlay / detections while someone subscribes)."""
        frame, outputs = result.frame, settings.outputs
        self.instances.publish(serialize_instance_array(frame))
        if self.detections is not None and self.detections.get_subscription_count() > 0:
            self.detections.publish(self.messages.detections_2d(frame, outputs.detection_class_id))
        if outputs.publish_labels and self.labels.get_subscription_count() > 0:
            self.labels.publish(self.messages.labels(frame))
        if outputs.publish_overlay and self.overlay.get_subscription_count() > 0:
            self.overlay.publish(self.messages.overlay(frame, result.rgb))


class NodeOutputs:
    """The node's publishers while configured, and the runner's FrameSink; see the module docstring."""

    def __init__(self, entities: Entities, settings: NodeSettings):
        node = entities.node
        self.node, self.settings = node, settings
        self.cameras: list[CameraOutputs] = []
        self.label_info = None
        self._label_info_sent: tuple | None = None
        self.tf_buffer = None
        packages, unavailable = import_packages(packages_needed(settings))
        self.plan = plan_outputs(settings, unavailable)
        self.messages = OutputMessages()
        self.diagnostics = entities.publisher(DiagnosticArray, "/diagnostics", 10)
        if self.plan.label_info:
            latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                                 reliability=ReliabilityPolicy.RELIABLE)
            self.label_info = entities.publisher(packages["vision_msgs"].LabelInfo, "~/label_info", latched)
        if self.plan.listen_to_tf:  # one listener for every camera (its /tf subscriptions are the node's)
            tf2_ros = packages["tf2_ros"]
            self.tf_buffer = tf2_ros.Buffer()
            entities.made_by("TF listener", lambda: tf2_ros.TransformListener(self.tf_buffer, node),
                             lambda listener: listener.unregister())  # destroys its /tf, /tf_static subscriptions
        for name in settings.inputs.cameras or ("",):
            self.cameras.append(CameraOutputs(entities, settings, self.plan, name, packages, self.tf_buffer,
                                              self.messages))
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
            self.cameras[result.camera.index].three_d.publish(result, self.settings)

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
