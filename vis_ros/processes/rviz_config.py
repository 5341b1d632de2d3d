"""The rviz configuration of one launch: a display for every topic the node draws.

Written at launch time because what the node publishes depends on the
namespace, the node's name, the cameras and whether depth is on: per camera
the overlay image, and with depth its markers and segmented points (points
coloured by instance id). rviz2 takes the file with `-d`. ROS-free, so the
tests compare it with a real node's publishers.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import yaml

from vis_ros.core.outputs.catalogue import OUTPUTS, Scope, output_topic

RELIABLE_QOS = {"Reliability Policy": "Reliable", "Durability Policy": "Volatile", "History Policy": "Keep Last",
                "Depth": 5}



@dataclass(frozen=True)
class RvizDisplay:
    """One display: what rviz shows, the topic it reads and that topic's message type."""

    name: str
    plugin: str
    topic: str
    msg_type: str


def node_topic(namespace: str, node_name: str, private_topic: str) -> str:
    """Return the absolute name of the node's `~/private_topic` (namespace "robot1" or "/robot1" alike)."""
    parts = [p for p in (namespace.strip("/"), node_name.strip("/"), private_topic.strip("/")) if p]
    return "/" + "/".join(parts)


def rviz_displays(namespace: str, node_name: str, cameras: list[str], use_depth: bool) -> list[RvizDisplay]:
    """Return the displays for the node's drawable outputs (the catalogue's with an rviz plugin), camera by camera."""
    scopes = (Scope.IMAGE, Scope.DEPTH) if use_depth else (Scope.IMAGE,)
    drawn = [spec for scope in scopes for spec in OUTPUTS if spec.scope is scope and spec.rviz]
    displays = []
    for camera in cameras or [""]:
        label = f"{camera} " if camera else ""
        for spec in drawn:
            displays.append(RvizDisplay(label + spec.name, spec.rviz,
                                        node_topic(namespace, node_name, output_topic(spec, camera)), spec.msg_type))
    return displays


def rviz_config(displays: list[RvizDisplay], fixed_frame: str) -> dict:
    """Return the rviz2 configuration (the YAML document `rviz2 -d` reads)."""
    if not fixed_frame.strip():
        raise ValueError("fixed_frame is empty: rviz needs the frame to draw markers and points in")
    entries = []
    for display in displays:
        entry = {"Class": display.plugin, "Name": display.name, "Enabled": True,
                 "Topic": {"Value": display.topic, **RELIABLE_QOS}}
        if display.plugin.endswith("PointCloud2"):
            entry.update({"Style": "Points", "Size (Pixels)": 3, "Color Transformer": "Intensity",
                          "Channel Name": "instance_id", "Use rainbow": True, "Autocompute Intensity Bounds": True})
        entries.append(entry)
    return {
        "Panels": [{"Class": "rviz_common/Displays", "Name": "Displays"}],
        "Visualization Manager": {
            "Class": "", "Enabled": True, "Name": "root",
            "Displays": [{"Class": "rviz_default_plugins/Grid", "Name": "Grid", "Enabled": True}] + entries,
            "Global Options": {"Fixed Frame": fixed_frame, "Frame Rate": 30},
            "Views": {"Current": {"Class": "rviz_default_plugins/Orbit", "Name": "Current View",
                                  "Target Frame": "<Fixed Frame>", "Distance": 3.0}},
        },
        "Window Geometry": {"Height": 800, "Width": 1200},
    }


def write_rviz_config(displays: list[RvizDisplay], fixed_frame: str) -> str:
    """Write the configuration to a new file of its own (one per launch) and return its path."""
    descriptor, path = tempfile.mkstemp(prefix="vis_ros_", suffix=".rviz")
    with os.fdopen(descriptor, "w") as file:
        yaml.safe_dump(rviz_config(displays, fixed_frame), file, sort_keys=False)
    return path


def require_rviz2() -> None:
    """Raise, naming the fix, when rviz2 cannot be started (checked before the node is).

    launch_ros finds executables through the ament index, so that is where
    rviz2 must be: a package rviz2 with lib/rviz2/rviz2.
    """
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        executable = os.path.join(get_package_prefix("rviz2"), "lib", "rviz2", "rviz2")
    except PackageNotFoundError:
        executable = ""
    if not os.access(executable, os.X_OK):
        raise RuntimeError("rviz:=true but rviz2 is not installed (no package rviz2 with lib/rviz2/rviz2 on"
                           " AMENT_PREFIX_PATH); install it (apt install ros-$ROS_DISTRO-rviz2) or launch with"
                           " rviz:=false. Nothing was started.")
