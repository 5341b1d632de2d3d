"""The node's publishers: created together at configure, destroyed together at cleanup.

2D: ~/instances (always), ~/labels and ~/overlay (rendered only while someone
subscribes), /diagnostics; with use_depth the 3D branch (ThreeDOutputs) as
well. `destroy()` is the mirror of the constructor, so a configure/cleanup
cycle leaves the node with the entities it had before.
"""
from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile
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

RECENT_ERROR_S = 10.0  # an error this recent keeps /diagnostics at WARN


class NodeOutputs:
    """The node's publishers while configured; see the module docstring."""

    def __init__(self, node, settings: NodeSettings):
        self.node = node
        qos = QoSProfile(depth=5)
        self._publishers = []
        self.three_d = None
        try:
            self.instances = self._publisher(InstanceArray, "~/instances", qos)
            self.labels = self._publisher(Image, "~/labels", qos)
            self.overlay = self._publisher(Image, "~/overlay", qos)
            self.diagnostics = self._publisher(DiagnosticArray, "/diagnostics", 10)
            if settings.inputs.use_depth:
                from vis_ros.ros.three_d import ThreeDOutputs

                self.three_d = ThreeDOutputs(node, settings.depth)
        except Exception:
            self.destroy()
            raise

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

    def publish_diagnostics(self, backend: str, snapshot: dict, input_report, error, active: bool) -> None:
        """Publish one DiagnosticArray, if the publisher is active."""
        if not self.diagnostics.is_activated:
            return
        self.diagnostics.publish(diagnostics_msg(
            self.node.get_clock().now().to_msg(), self.node.get_name(), backend, snapshot, input_report,
            error, RECENT_ERROR_S, active))
