"""What the launch file wires up, checked on a real node without `launch`.

The parameters and remappings the launch file computes (vis_ros/processes/
launch_parameters.py, camera_topics.py) are handed to a real node the way
launch_ros does (a `--params-file` per entry, a dict written as a file keyed
by the node's name; `-r a:=b`), and the node's own parameters and
subscriptions must be what the user asked for in every mode: a launch
argument wins, a params file alone reaches the node, the defaults apply
otherwise. The rviz configuration written at launch must name topics the
node publishes, with their types and a QoS rviz can read.
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

from vis_ros.core.config.parameters import BY_NAME  # noqa: E402
from vis_ros.core.data.model_path import share_file  # noqa: E402
from vis_ros.processes.camera_topics import TOPIC_ARGUMENTS, launch_remappings  # noqa: E402
from vis_ros.processes.launch_parameters import (  # noqa: E402
    OVERRIDES,
    effective_value,
    given_arguments,
    node_name,
    node_parameters,
    params_file_values,
)
from vis_ros.processes.rviz_config import require_rviz2, rviz_config, rviz_displays, write_rviz_config  # noqa: E402
from vis_ros.ros.node import VisRosNode  # noqa: E402

DEFAULTS = {name: default for name, (default, _) in TOPIC_ARGUMENTS.items()}
IGNORED = {"/parameter_events", "/rosout"}

# (launch arguments, node namespace, the params file's parameters (None: the shipped file), the topics read)
MODES = {
    "one camera": ({}, "", None, {"/camera/color/image_raw"}),
    "one camera with depth": ({"use_depth": "true"}, "", None,
                              {"/camera/color/image_raw", "/camera/aligned_depth_to_color/image_raw",
                               "/camera/color/camera_info"}),
    "depth from the params file alone": ({}, "", {"use_depth": True},
                                         {"/camera/color/image_raw", "/camera/aligned_depth_to_color/image_raw",
                                          "/camera/color/camera_info"}),
    "the argument wins over the params file": ({"use_depth": "false"}, "", {"use_depth": True},
                                               {"/camera/color/image_raw"}),
    "one camera compressed": ({}, "", {"compressed_input": True}, {"/camera/color/image_raw/compressed"}),
    "namespaced, relative camera": ({"camera": "camera/color", "use_depth": "true"}, "robot1", None,
                                    {"/robot1/camera/color/image_raw",
                                     "/robot1/camera/aligned_depth_to_color/image_raw",
                                     "/robot1/camera/color/camera_info"}),
    "one camera, own depth and info": ({"camera": "/head", "image_topic": "rgb", "depth_topic": "/head_depth/raw",
                                        "camera_info_topic": "/head/info"}, "", {"use_depth": True},
                                       {"/head/rgb", "/head_depth/raw", "/head/info"}),
    "two cameras with depth": ({"cameras": "[front,left]", "use_depth": "true"}, "robot1", None,
                               {f"/{c}/camera/{leaf}" for c in ("front", "left")
                                for leaf in ("color/image_raw", "aligned_depth_to_color/image_raw",
                                             "color/camera_info")}),
    "two cameras from the params file": ({}, "robot1", {"use_depth": True, "cameras": ["front", "left"]},
                                         {f"/{c}/camera/{leaf}" for c in ("front", "left")
                                          for leaf in ("color/image_raw", "aligned_depth_to_color/image_raw",
                                                       "color/camera_info")}),
}


def _node(context, namespace, params):
    return VisRosNode("vis_ros", context=context, namespace=namespace,
                      parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])


def _write_params(path: Path, key: str, parameters: dict) -> str:
    path.write_text(yaml.safe_dump({key: {"ros__parameters": parameters}}))
    return str(path)


def _launched_node(context, tmp_path, namespace, arguments, params_file):
    """Make a node with what vis_ros.launch.py would hand it, passed on as launch_ros passes it."""
    texts = {**DEFAULTS, **dict.fromkeys(OVERRIDES, ""), **arguments}
    given = given_arguments(texts)
    fqn = node_name(namespace, "vis_ros")
    from_file = params_file_values(params_file, fqn)
    cameras = [c for c in effective_value("cameras", given, from_file) if c]
    cli = ["--ros-args"]
    for path in node_parameters(params_file, given, fqn, str(tmp_path)):
        cli += ["--params-file", path]
    cli += [arg for a, b in launch_remappings(texts, cameras) for arg in ("-r", f"{a}:={b}")]
    return VisRosNode("vis_ros", context=context, namespace=namespace, cli_args=cli)


@pytest.mark.parametrize("mode", list(MODES))
def test_the_launch_makes_the_node_read_the_driver_topics_with_the_users_parameters(rclpy_context, tmp_path, mode):
    """Without `cameras`, only `image` was remapped; use_depth in a params file was overridden by the launch."""
    arguments, namespace, params, expected = MODES[mode]
    params_file = (str(share_file("config", "vis_ros.yaml")) if params is None
                   else _write_params(tmp_path / "mine.yaml", "/**", params))
    node = _launched_node(rclpy_context, tmp_path, namespace, arguments, params_file)
    try:
        assert node.get_parameter("autostart").value is True  # no argument: the launch starts the node
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        subscriptions = node.get_subscriber_names_and_types_by_node("vis_ros", node.get_namespace())
        subscribed = {topic for topic, _ in subscriptions}
        bond = {node.resolve_topic_name("bond")}  # the lifecycle manager's bond, where bondpy is installed
        assert subscribed - IGNORED - bond == expected
        node.trigger_deactivate()
        node.trigger_cleanup()
    finally:
        node.destroy_node()


@pytest.mark.parametrize("arguments, in_file, expected", [({}, None, True), ({}, False, False),
                                                          ({"autostart": "false"}, None, False),
                                                          ({"autostart": "true"}, False, True)])
def test_autostart_is_true_unless_the_argument_or_the_params_file_says_otherwise(rclpy_context, tmp_path,
                                                                                 arguments, in_file, expected):
    """Under Nav2 the params file says autostart: false; the shipped file leaves it to the launch."""
    params = {"qos_depth": 3} if in_file is None else {"autostart": in_file, "qos_depth": 3}
    node = _launched_node(rclpy_context, tmp_path, "robot1", arguments,
                          _write_params(tmp_path / "mine.yaml", "/**", params))
    try:
        assert node.get_parameter("autostart").value is expected
        assert node.get_parameter("qos_depth").value == 3
    finally:
        node.destroy_node()


def test_the_shipped_params_file_leaves_autostart_to_the_launch():
    assert "autostart" not in params_file_values(share_file("config", "vis_ros.yaml"), "/vis_ros")


def test_a_bad_launch_argument_is_named():
    with pytest.raises(ValueError, match="use_depth:=yes must be true or false"):
        given_arguments({"use_depth": "yes"})


SECTIONS = {
    "/vis_ros": {"qos_depth": 11, "max_batch": 2},
    "/**": {"qos_depth": 7, "keyframe_interval": 2, "max_batch": 3},
    "vis_ros": {"score_threshold": 0.6},  # relative: /vis_ros, merged into the first section
    "robot1": {"vis_ros": {"nms_iou": 0.3}},  # nested: /robot1/vis_ros
    "/robot1/vis_ros": {"qos_depth": 13},
    "/**/vis_ros": {"threads": 2, "qos_depth": 15},
    "/*": {"opencv_threads": 3},
    "/*/vis_ros": {"opencv_threads": 4},
    "/other": {"qos_depth": 99},
}


def _sections_file(path: Path, sections: dict) -> Path:
    def wrap(value):
        return {"ros__parameters": value} if "vis_ros" not in value else {k: wrap(v) for k, v in value.items()}

    path.write_text(yaml.safe_dump({key: wrap(value) for key, value in sections.items()}, sort_keys=False))
    return path


@pytest.mark.parametrize("namespace", ["", "robot1"])
@pytest.mark.parametrize("order", ["as written", "reversed"])
def test_params_file_values_are_what_rclpy_gives_the_node(rclpy_context, tmp_path, namespace, order):
    """The launch reads the params file as rcl does: wildcards, merged keys, the order keys first appear."""
    keys = list(SECTIONS) if order == "as written" else list(reversed(SECTIONS))
    path = _sections_file(tmp_path / "sections.yaml", {key: SECTIONS[key] for key in keys})
    node = VisRosNode("vis_ros", context=rclpy_context, namespace=namespace,
                      cli_args=["--ros-args", "--params-file", str(path)])
    try:
        read = params_file_values(path, node.get_fully_qualified_name())
        for name in {n for section in SECTIONS.values() for n in section if n != "vis_ros"} | {"nms_iou"}:
            expected = read.get(name, BY_NAME[name].default)
            assert node.get_parameter(name).value == expected, (name, read)
    finally:
        node.destroy_node()


@pytest.mark.parametrize("user_keys", [["/**"], ["/vis_ros", "/**"], ["/vis_ros", "/**/vis_ros", "/**"]])
def test_a_launch_argument_wins_whatever_sections_the_params_file_has(rclpy_context, tmp_path, user_keys):
    """launch_ros's own dict file (keyed /vis_ros) lost to a /** section written after a /vis_ros one."""
    path = _sections_file(tmp_path / "mine.yaml", {key: {"use_depth": True, "qos_depth": 3} for key in user_keys})
    node = _launched_node(rclpy_context, tmp_path, "", {"use_depth": "false"}, str(path))
    try:
        assert node.get_parameter("use_depth").value is False
        assert node.get_parameter("qos_depth").value == 3
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
