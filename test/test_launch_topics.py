"""What the launch file wires up, checked on a real node without `launch`.

The remappings the launch file computes (vis_ros/processes/camera_topics.py)
are handed to a real node the way launch_ros does (`--ros-args -r a:=b`), and
the node's own subscriptions must be the driver's topics in every mode. The
rviz configuration written at launch must name topics the node publishes,
with their types and a QoS rviz can read.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

rclpy = pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import ReliabilityPolicy  # noqa: E402

from vis_ros.processes.camera_topics import TOPIC_ARGUMENTS, launch_remappings  # noqa: E402
from vis_ros.processes.rviz_config import require_rviz2, rviz_config, rviz_displays, write_rviz_config  # noqa: E402
from vis_ros.ros.node import VisRosNode  # noqa: E402

DEFAULTS = {name: default for name, (default, _) in TOPIC_ARGUMENTS.items()}
IGNORED = {"/parameter_events", "/rosout"}

# (launch arguments, node namespace, node parameters, the topics the node must read)
MODES = {
    "one camera": ({}, "", {}, {"/camera/color/image_raw"}),
    "one camera with depth": ({}, "", {"use_depth": True},
                              {"/camera/color/image_raw", "/camera/aligned_depth_to_color/image_raw",
                               "/camera/color/camera_info"}),
    "one camera compressed": ({}, "", {"compressed_input": True}, {"/camera/color/image_raw/compressed"}),
    "namespaced, relative camera": ({"camera": "camera/color"}, "robot1", {"use_depth": True},
                                    {"/robot1/camera/color/image_raw",
                                     "/robot1/camera/aligned_depth_to_color/image_raw",
                                     "/robot1/camera/color/camera_info"}),
    "one camera, own depth and info": ({"camera": "/head", "image_topic": "rgb", "depth_topic": "/head_depth/raw",
                                        "camera_info_topic": "/head/info"}, "", {"use_depth": True},
                                       {"/head/rgb", "/head_depth/raw", "/head/info"}),
    "two cameras with depth": ({"cameras": "[front,left]"}, "robot1", {"use_depth": True, "cameras": ["front", "left"]},
                               {f"/{c}/camera/{leaf}" for c in ("front", "left")
                                for leaf in ("color/image_raw", "aligned_depth_to_color/image_raw",
                                             "color/camera_info")}),
}


def _node(context, namespace, params, remappings=()):
    cli = ["--ros-args"] + [arg for a, b in remappings for arg in ("-r", f"{a}:={b}")]
    return VisRosNode("vis_ros", context=context, namespace=namespace, cli_args=cli,
                      parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])


@pytest.mark.parametrize("mode", list(MODES))
def test_the_launch_remappings_make_the_node_read_the_driver_topics(rclpy_context, mode):
    """Without `cameras`, only `image` was remapped: depth and camera_info read /depth and /camera_info."""
    arguments, namespace, params, expected = MODES[mode]
    node = _node(rclpy_context, namespace, params, launch_remappings({**DEFAULTS, **arguments}))
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        subscriptions = node.get_subscriber_names_and_types_by_node("vis_ros", node.get_namespace())
        subscribed = {topic for topic, _ in subscriptions}
        assert subscribed - IGNORED == expected
        node.trigger_deactivate()
        node.trigger_cleanup()
    finally:
        node.destroy_node()


@pytest.mark.parametrize("namespace, cameras, use_depth", [("", [], False), ("robot1", [], True),
                                                          ("/fleet/robot7", ["front", "left"], True)])
def test_the_rviz_configuration_shows_what_the_node_publishes(rclpy_context, tmp_path, namespace, cameras,
                                                               use_depth):
    """The shipped rviz file named /vis_ros/overlay whatever the namespace and cameras, and no 3D."""
    displays = rviz_displays(namespace, "vis_ros", cameras, use_depth)
    assert len(displays) == max(1, len(cameras)) * (3 if use_depth else 1)
    path = Path(write_rviz_config(displays, "odom"))
    try:
        config = yaml.safe_load(path.read_text())
    finally:
        path.unlink()
    shown = [d for d in config["Visualization Manager"]["Displays"] if "Topic" in d]
    assert [(d["Class"], d["Topic"]["Value"]) for d in shown] == [(d.plugin, d.topic) for d in displays]
    assert config["Visualization Manager"]["Global Options"]["Fixed Frame"] == "odom"

    params = {"use_depth": use_depth, "cameras": cameras or [""]}
    node = _node(rclpy_context, namespace.strip("/"), params)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        published = dict(node.get_publisher_names_and_types_by_node("vis_ros", node.get_namespace()))
        for display, entry in zip(displays, shown, strict=True):
            assert published.get(display.topic) == [display.msg_type], (display, sorted(published))
            (info,) = node.get_publishers_info_by_topic(display.topic)
            assert entry["Topic"]["Reliability Policy"] == "Reliable"
            assert info.qos_profile.reliability == ReliabilityPolicy.RELIABLE
        node.trigger_cleanup()
    finally:
        node.destroy_node()


def test_rviz_needs_a_fixed_frame():
    with pytest.raises(ValueError, match="fixed_frame is empty"):
        rviz_config(rviz_displays("", "vis_ros", [], True), " ")


def test_rviz_true_without_rviz2_fails_before_anything_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="rviz2 is not installed.*rviz:=false. Nothing was started"):
        require_rviz2()
    (tmp_path / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (tmp_path / "share" / "ament_index" / "resource_index" / "packages" / "rviz2").touch()
    with pytest.raises(RuntimeError, match="rviz2 is not installed"):  # registered, but no executable
        require_rviz2()
    executable = tmp_path / "lib" / "rviz2" / "rviz2"
    executable.parent.mkdir(parents=True)
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    require_rviz2()
