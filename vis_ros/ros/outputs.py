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
from vis_ros.ros.diagnostics import diagnostics_msg
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


class NodeOutputs:
    """The node's publishers while configured; see the module docstring."""

    def __init__(self, node, settings: NodeSettings):
        self.node = node
        qos = QoSProfile(depth=5)
        self._publishers = []
        self.three_d = None
        self.detections = self.label_info = None
        self.off: list[str] = []  # outputs asked for that cannot run, each with why
        self._label_info_sent: tuple | None = None
        outputs, depth = settings.outputs, settings.depth
        vision_wanted = outputs.publish_detections or outputs.publish_label_info or (
            settings.inputs.use_depth and depth.publish_detections_3d)
        self._vm, why_not = message_module("vision_msgs") if vision_wanted else (None, "")
        try:
            self.instances = self._publisher(InstanceArray, "~/instances", qos)
            self.labels = self._publisher(Image, "~/labels", qos)
            self.overlay = self._publisher(Image, "~/overlay", qos)
            self.diagnostics = self._publisher(DiagnosticArray, "/diagnostics", 10)
            if self._vm is not None:
                if outputs.publish_detections:
                    self.detections = self._publisher(self._vm.Detection2DArray, "~/detections", qos)
                if outputs.publish_label_info:
                    latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                                         reliability=ReliabilityPolicy.RELIABLE)
                    self.label_info = self._publisher(self._vm.LabelInfo, "~/label_info", latched)
            elif vision_wanted:
                names = [n for n, on in (("~/detections", outputs.publish_detections),
                                         ("~/label_info", outputs.publish_label_info)) if on]
                if settings.inputs.use_depth and depth.publish_detections_3d:
                    names.append("~/detections_3d")
                self.off.append(f"{', '.join(names)}: {why_not}")
            if settings.inputs.use_depth:
                from vis_ros.ros.three_d import ThreeDOutputs

                self.three_d = ThreeDOutputs(node, depth, self._vm, self.off)
        except Exception:
            self.destroy()
            raise
        if self.off:
            node.get_logger().warning(f"outputs off: {'; '.join(self.off)}")

    def _publisher(self, msg_type, topic: str, qos):
        publisher = self.node.create_lifecycle_publisher(msg_type, topic, qos)
        self._publishers.append(publisher)
        return publisher

    def destroy(self) -> None:
        """Destroy every publisher (and the 3D branch's listener) this made (cleanup)."""
        if self.three_d is not None:
            self.three_d.destroy()
            self.three_d = None
        for publisher in self._publishers:
            self.node.destroy_lifecycle_publisher(publisher)
        self._publishers = []

    def publish_2d(self, frame: InstanceFrame, rgb, settings: OutputSettings) -> InstanceFrame:
        """Publish the instances (and labels / overlay if wanted); return what was published."""
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

    def announce_labels(self, class_names, threshold: float) -> None:
        """Publish ~/label_info if it is new (first activate after configure, a new threshold)."""
        if self.label_info is None or self._label_info_sent == (tuple(class_names), threshold):
            return
        self.label_info.publish(label_info_msg(self._vm, self.node.get_clock().now().to_msg(), class_names,
                                               threshold))
        self._label_info_sent = (tuple(class_names), threshold)

    def withdraw(self) -> None:
        """Take back what must not outlive activity (the collision objects), before deactivating."""
        if self.three_d is not None:
            self.three_d.withdraw()

    def publish_diagnostics(self, backend: str, snapshot: dict, input_report, error, active: bool) -> None:
        """Publish one DiagnosticArray, if the publisher is active."""
        if not self.diagnostics.is_activated:
            return
        self.diagnostics.publish(diagnostics_msg(
            self.node.get_clock().now().to_msg(), self.node.get_name(), backend, snapshot, input_report,
            error, RECENT_ERROR_S, active, outputs_off="; ".join(self.off)))
