"""Every output a frame produces, declared once: what selection, the node, bags and rviz all read.

An entry names the topic (under `~/<camera>/` for a camera's outputs, `~/`
for the node's), the message type, whether it comes from the 2D frame, the
fused 3D frame or once for the node, the parameter that turns it on, the
optional package its type needs, whether the node builds it only while
someone subscribes, whether bags get it, and the rviz display that draws
it. The node's publishers (ros/outputs.py), the bag's connections
(io/bag_outputs.py) and the rviz configuration (processes/rviz_config.py)
are made from these entries, and io/frame_messages.py turns a published
frame into the bytes of every entry, for both sinks.

Adding an output: an entry here, its message in io/output_messages.py, its
builder in io/frame_messages.py. Collision objects (stateful, acknowledged,
node only: ros/collision_objects.py) and /diagnostics are not frame outputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    """What an output is made from."""

    IMAGE = "2d"  # each published 2D frame of a camera
    DEPTH = "3d"  # each fused 3D frame of a camera with depth
    NODE = "node"  # once for the node (label_info)


@dataclass(frozen=True)
class OutputSpec:
    """One output; see the module docstring."""

    name: str  # topic leaf: ~/<camera prefix><name> (IMAGE, DEPTH) or ~/<name> (NODE)
    msg_type: str  # ROS type name, as rosbags and `ros2 topic` spell it
    scope: Scope
    switch: str = ""  # the boolean parameter that turns it on; "" = always on
    package: str = ""  # the optional package its message type needs; "" = one the node always has
    on_demand: bool = False  # the node builds it only while someone subscribes (a bag always writes it)
    in_bags: bool = True  # process-bag writes it (the overlay is a second copy of the images: not)
    rviz: str = ""  # the rviz display plugin that draws it; "" = none in the launch's rviz
    world_frame: bool = False  # runs only with a target_frame (the node: and tf2_ros)
    latched: bool = False  # sent when its content changes, transient local in the node


OUTPUTS = (
    OutputSpec("instances", "vis_ros/msg/InstanceArray", Scope.IMAGE),
    OutputSpec("labels", "sensor_msgs/msg/Image", Scope.IMAGE, "publish_labels", on_demand=True),
    OutputSpec("overlay", "sensor_msgs/msg/Image", Scope.IMAGE, "publish_overlay", on_demand=True, in_bags=False,
               rviz="rviz_default_plugins/Image"),
    OutputSpec("detections", "vision_msgs/msg/Detection2DArray", Scope.IMAGE, "publish_detections", "vision_msgs",
               on_demand=True),
    OutputSpec("instances_3d", "vis_ros/msg/Instance3DArray", Scope.DEPTH),
    OutputSpec("markers", "visualization_msgs/msg/MarkerArray", Scope.DEPTH, "publish_markers",
               rviz="rviz_default_plugins/MarkerArray"),
    OutputSpec("points", "sensor_msgs/msg/PointCloud2", Scope.DEPTH, "publish_points",
               rviz="rviz_default_plugins/PointCloud2"),
    OutputSpec("detections_3d", "vision_msgs/msg/Detection3DArray", Scope.DEPTH, "publish_detections_3d",
               "vision_msgs", on_demand=True),
    OutputSpec("remembered", "vis_ros/msg/RememberedObjectArray", Scope.DEPTH, "object_memory", world_frame=True,
               latched=True),
    OutputSpec("label_info", "vision_msgs/msg/LabelInfo", Scope.NODE, "publish_label_info", "vision_msgs"),
)
BY_NAME = {spec.name: spec for spec in OUTPUTS}


def camera_prefix(camera: str) -> str:
    """Return a camera's topic prefix: "" for the one unnamed camera, else "<name>/"."""
    return f"{camera}/" if camera else ""


def output_topic(spec: OutputSpec, camera: str = "") -> str:
    """Return an output's topic relative to the node (or to a bag's output namespace)."""
    return spec.name if spec.scope is Scope.NODE else camera_prefix(camera) + spec.name
