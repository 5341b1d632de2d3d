"""The node's publishers: created together at configure, destroyed together at cleanup.

2D: ~/instances (always), ~/labels and ~/overlay (rendered only while someone
subscribes), /diagnostics; where vision_msgs is importable ~/detections
(built only while someone subscribes) and ~/label_info (transient local,
sent at activate and when score_threshold changes); with use_depth the 3D
branch (ThreeDOutputs) as well. Outputs that are asked for but cannot run
(a package missing, no target_frame for collision objects) are named once
at configure, with why, and on /diagnostics (`outputs_off`). `destroy()` is
the mirror of the constructor, so a configure/cleanup cycle leaves the node
with the entities it had before.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from vis_ros.core.instances import InstanceFrame
from vis_ros.core.labels import label_image
from vis_ros.core.overlay import draw_overlay
from vis_ros.core.settings import NodeSettings, OutputSettings
from vis_ros.io.instance_wire import serialize_instance_array
from vis_ros.msg import InstanceArray
from vis_ros.ros.convert import header_msg
from vis_ros.ros.diagnostics import camera_status, diagnostics_msg, engine_status
from vis_ros.ros.image_msgs import image_msg
from vis_ros.ros.vision_detections import detections_2d_msg, label_info_msg

RECENT_ERROR_S = 10.0  # an error this recent keeps /diagnostics at WARN
INSTALL_HINT = {"vision_msgs": "ros-$ROS_DISTRO-vision-msgs", "moveit_msgs": "ros-$ROS_DISTRO-moveit-msgs"}


def message_module(package: str) -> tuple[ModuleType | None, str]:
    """Return `package`.msg, or None and the reason it cannot be used.

    vision_msgs and moveit_msgs are run dependencies in package.xml, but a
    robot may lack them (a source build, a minimal image): then the outputs
    that need them are off, said once at configure, and the rest runs.
    """
    try:
        return importlib.import_module(f"{package}.msg"), ""
    except ImportError as exc:
        return None, f"{package} is not importable ({exc}); install {INSTALL_HINT.get(package, package)}"


def camera_prefix(name: str) -> str:
    """Return the topic prefix of a camera: "" for the unnamed one, else "<name>/"."""
    return f"{name}/" if name else ""


class CameraOutputs:
    """One camera's publishers: ~/<prefix>instances, labels, overlay, detections and its 3D branch."""

    def __init__(self, node, settings: NodeSettings, name: str, vm, tf_buffer, off: list[str]):
        self.node, self.name, self._vm = node, name, vm
        self._publishers = []
        self.three_d = self.detections = None
        prefix = camera_prefix(name)
        qos = QoSProfile(depth=5)
        try:
            self.instances = self._publisher(InstanceArray, f"~/{prefix}instances", qos)
            self.labels = self._publisher(Image, f"~/{prefix}labels", qos)
            self.overlay = self._publisher(Image, f"~/{prefix}overlay", qos)
            if vm is not None and settings.outputs.publish_detections:
                self.detections = self._publisher(vm.Detection2DArray, f"~/{prefix}detections", qos)
            if settings.inputs.use_depth:
                from vis_ros.ros.three_d import ThreeDOutputs

                self.three_d = ThreeDOutputs(node, settings.depth, vm, off, prefix, tf_buffer)
        except Exception:
            self.destroy()
            raise

    def _publisher(self, msg_type, topic: str, qos):
        publisher = self.node.create_lifecycle_publisher(msg_type, topic, qos)
        self._publishers.append(publisher)
        return publisher

    def destroy(self) -> None:
        """Destroy every publisher this made (cleanup)."""
        if self.three_d is not None:
            self.three_d.destroy()
            self.three_d = None
        for publisher in self._publishers:
            self.node.destroy_lifecycle_publisher(publisher)
        self._publishers = []

    def publish_2d(self, frame: InstanceFrame, rgb, settings: OutputSettings) -> InstanceFrame:
        """Publish the instances (and labels / overlay / detections if wanted); return what was published."""
        frame = frame.published(settings.publish_tentative, settings.class_filter)
        self.instances.publish(serialize_instance_array(frame))
        if self.detections is not None and self.detections.get_subscription_count() > 0:
            self.detections.publish(detections_2d_msg(self._vm, frame))
        labels_wanted = settings.publish_labels and self.labels.get_subscription_count() > 0
        overlay_wanted = settings.publish_overlay and self.overlay.get_subscription_count() > 0
        if not (labels_wanted or overlay_wanted):
            return frame
        header = header_msg(frame.stamp_ns, frame.frame_id)
        if labels_wanted:
            labels = label_image(frame.instances, frame.height, frame.width)
            self.labels.publish(image_msg(header, labels, "16UC1"))
        if overlay_wanted:
            picture = draw_overlay(rgb, [(i.box, i.mask) for i in frame.instances],
                                   [f"{i.track_id} {i.class_name}" for i in frame.instances],
                                   [i.track_id for i in frame.instances])
            self.overlay.publish(image_msg(header, picture, "rgb8"))
        return frame


class NodeOutputs:
    """The node's publishers while configured; see the module docstring."""

    def __init__(self, node, settings: NodeSettings):
        self.node = node
        self._publishers = []
        self.cameras: list[CameraOutputs] = []
        self.label_info = None
        self.off: list[str] = []  # outputs asked for that cannot run, each with why
        self._label_info_sent: tuple | None = None
        self.tf_buffer = self._tf_listener = None
        outputs, depth = settings.outputs, settings.depth
        vision_wanted = outputs.publish_detections or outputs.publish_label_info or (
            settings.inputs.use_depth and depth.publish_detections_3d)
        self._vm, why_not = message_module("vision_msgs") if vision_wanted else (None, "")
        try:
            self.diagnostics = self._publisher(DiagnosticArray, "/diagnostics", 10)
            if self._vm is not None and outputs.publish_label_info:
                latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                                     reliability=ReliabilityPolicy.RELIABLE)
                self.label_info = self._publisher(self._vm.LabelInfo, "~/label_info", latched)
            elif vision_wanted and self._vm is None:
                names = [n for n, on in (("~/detections", outputs.publish_detections),
                                         ("~/label_info", outputs.publish_label_info)) if on]
                if settings.inputs.use_depth and depth.publish_detections_3d:
                    names.append("~/detections_3d")
                self.off.append(f"{', '.join(names)}: {why_not}")
            if settings.inputs.use_depth and depth.target_frame:
                self._listen_to_tf()
            for name in settings.inputs.cameras or ("",):
                self.cameras.append(CameraOutputs(node, settings, name, self._vm, self.tf_buffer, self.off))
        except Exception:
            self.destroy()
            raise
        self.off = list(dict.fromkeys(self.off))  # every camera finds the same reasons
        if self.off:
            node.get_logger().warning(f"outputs off: {'; '.join(self.off)}")

    def _listen_to_tf(self) -> None:
        """One TF listener for every camera's 3D branch (its /tf subscriptions are the node's)."""
        try:
            import tf2_ros
        except ImportError:
            self.node.get_logger().warning("target_frame is set but tf2_ros is not importable: 3D outputs stay"
                                           " in the camera frame")
            return
        self.tf_buffer = tf2_ros.Buffer()
        self._tf_listener = tf2_ros.TransformListener(self.tf_buffer, self.node)

    def _publisher(self, msg_type, topic: str, qos):
        publisher = self.node.create_lifecycle_publisher(msg_type, topic, qos)
        self._publishers.append(publisher)
        return publisher

    def destroy(self) -> None:
        """Destroy every publisher and the TF listener this made (cleanup)."""
        for camera in self.cameras:
            camera.destroy()
        self.cameras = []
        if self._tf_listener is not None:
            self._tf_listener.unregister()  # destroys its /tf and /tf_static subscriptions
            self._tf_listener = self.tf_buffer = None
        for publisher in self._publishers:
            self.node.destroy_lifecycle_publisher(publisher)
        self._publishers = []

    def announce_labels(self, class_names, threshold: float) -> None:
        """Publish ~/label_info if it is new (first activate after configure, a new threshold)."""
        if self.label_info is None or self._label_info_sent == (tuple(class_names), threshold):
            return
        self.label_info.publish(label_info_msg(self._vm, self.node.get_clock().now().to_msg(), class_names,
                                               threshold))
        self._label_info_sent = (tuple(class_names), threshold)

    def withdraw(self) -> None:
        """Take back what must not outlive activity (the collision objects), before deactivating."""
        for camera in self.cameras:
            if camera.three_d is not None:
                camera.three_d.withdraw()

    def publish_diagnostics(self, backend: str, cameras: list, engine: dict, active: bool) -> None:
        """Publish one DiagnosticArray, if the publisher is active.

        `cameras` holds per camera (label, snapshot, input report, last error);
        `engine` is the worker's engine snapshot.
        """
        if not self.diagnostics.is_activated:
            return
        name, off = self.node.get_name(), "; ".join(self.off)
        statuses = [camera_status(name, label, backend, snapshot, report, error, RECENT_ERROR_S, active, off)
                    for label, snapshot, report, error in cameras]
        statuses.append(engine_status(name, backend, engine))
        self.diagnostics.publish(diagnostics_msg(self.node.get_clock().now().to_msg(), statuses))
