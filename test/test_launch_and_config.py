"""The launch file and the parameter file.

launch/ and config/: what can be checked without the `launch` package, and
the real launch description wherever `launch` is importable (robots).
"""
from __future__ import annotations

import ast
import contextlib
import importlib.util
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from vis_ros.core.config.parameters import BY_NAME, PARAMS, default_values, shadowed_settings
from vis_ros.core.config.settings import NodeSettings
from vis_ros.core.tracking.config import TrackerConfig

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = ROOT / "launch" / "vis_ros.launch.py"


def _calls(tree, name):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", None)) == name]


def _kw(call, key):
    return next(k.value for k in call.keywords if k.arg == key)


def test_launch_file_names_existing_executables_and_declared_parameters():
    from vis_ros.processes.camera_topics import TOPIC_ARGUMENTS
    from vis_ros.processes.launch_parameters import OVERRIDES

    tree = ast.parse(LAUNCH.read_text())
    (node,) = _calls(tree, "LifecycleNode")
    assert _kw(node, "package").value == "vis_ros"
    executable = _kw(node, "executable").value
    assert (ROOT / "scripts" / executable).is_file()
    assert executable in (ROOT / "CMakeLists.txt").read_text()
    assert set(OVERRIDES) - {"use_sim_time"} <= set(BY_NAME), set(OVERRIDES) - set(BY_NAME)
    declared = {c.args[0].value for c in _calls(tree, "DeclareLaunchArgument") if isinstance(c.args[0], ast.Constant)}
    # _actions reads the others with value(name); OVERRIDES and TOPIC_ARGUMENTS by name in a comprehension
    used = {c.args[0].value for c in _calls(tree, "value") if isinstance(c.args[0], ast.Constant)}
    assert not declared & set(TOPIC_ARGUMENTS)  # those are declared from TOPIC_ARGUMENTS, read by launch_remappings
    assert used | set(OVERRIDES) == declared | {"cameras"}
    assert {"model", "namespace", "params_file", "use_sim_time", "use_depth", "rviz", "fixed_frame"} <= declared
    for argument in _calls(tree, "DeclareLaunchArgument"):  # an override left empty overrides nothing
        if isinstance(argument.args[0], ast.Constant) and argument.args[0].value in OVERRIDES:
            assert _kw(argument, "default_value").value == "", argument.args[0].value


def test_launch_gives_the_node_a_fastdds_profile_with_large_shared_memory_segments():
    assert "fastdds_large_messages.xml" in LAUNCH.read_text()
    root = ET.parse(ROOT / "config" / "fastdds_large_messages.xml").getroot()
    ns = {"p": "http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles"}
    shm = [d for d in root.iterfind(".//p:transport_descriptor", ns) if d.findtext("p:type", namespaces=ns) == "SHM"]
    assert len(shm) == 1
    assert int(shm[0].findtext("p:segment_size", namespaces=ns)) >= 2 * 1280 * 720 * 3  # two 720p images


def test_node_defaults_build_the_core_default_tracker():
    # What the evaluation scores (the node's defaults) is what Tracker() runs.
    assert NodeSettings.from_values(default_values()).tracker == TrackerConfig()


def test_a_threshold_shadowed_by_another_is_named():
    values = default_values()
    assert shadowed_settings(values) == []
    values.update(track_high_score=0.3, track_low_score=0.45, track_report_coasting=2.0)
    notes = shadowed_settings(values)
    assert len(notes) == 3
    assert "track_high_score 0.3 is below score_threshold 0.4: tracks start and lead from 0.4" in notes[0]
    assert notes[1].startswith("track_low_score 0.45 is above the start score 0.4")
    assert notes[2].startswith("track_report_coasting 2.0 is longer than track_max_age 1.0")


def test_the_parameter_file_is_generated_from_the_declarations():
    from vis_ros.core.config.parameter_docs import yaml_text

    assert (ROOT / "config" / "vis_ros.yaml").read_text() == yaml_text(), \
        "stale: run `python -P tools/generate_parameter_docs.py`"


def test_parameter_file_lists_every_parameter_with_its_default():
    """Those the launch decides (autostart) are there as a comment: a value would override the launch's."""
    text = (ROOT / "config" / "vis_ros.yaml").read_text()
    values = yaml.safe_load(text)["/**"]["ros__parameters"]
    assert list(values) == [p.name for p in PARAMS if not p.set_by_launch]
    for p in PARAMS:
        if p.set_by_launch:
            assert f"    # {p.name}: " in text, p.name
        else:
            assert values[p.name] == p.default, p.name


# launch_ros, not launch: this repository's own launch/ folder can pass for a
# namespace package named `launch` when the working directory is on sys.path.
@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None,
                    reason="launch / launch_ros are not installable here (no ros2 launch); runs on robots")
def test_launch_description_builds(monkeypatch, tmp_path):
    from launch.actions import OpaqueFunction
    from launch.utilities import perform_substitutions
    from launch_ros.actions import LifecycleNode

    from launch import LaunchContext
    from vis_ros.processes.camera_topics import launch_remappings, parse_cameras

    spec = importlib.util.spec_from_file_location("vis_ros_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    arguments = {a.name for a in description.get_launch_arguments()}
    assert {"model", "camera", "image_topic", "depth_topic", "camera_info_topic", "namespace", "params_file",
            "use_sim_time", "autostart", "qos_reliability", "rviz", "fixed_frame", "cameras", "image_template",
            "depth_template", "info_template", "use_depth"} <= arguments
    context = LaunchContext()
    for argument in description.get_launch_arguments():
        context.launch_configurations[argument.name] = perform_substitutions(context, argument.default_value)
    (opaque,) = [e for e in description.entities if isinstance(e, OpaqueFunction)]
    for cameras in ("", "[front,left]"):
        context.launch_configurations.update(cameras=cameras, use_depth="true")
        (node,) = module._actions(context)
        assert isinstance(node, LifecycleNode)
        assert (node.node_package, node.node_executable) == ("vis_ros", "vis_ros_node")
        expected = launch_remappings(dict(context.launch_configurations), parse_cameras(cameras))
        assert [(perform_substitutions(context, a), perform_substitutions(context, b))
                for a, b in node._Node__remappings] == expected
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path))  # no rviz2: fails before returning the node
    context.launch_configurations["rviz"] = "true"
    with pytest.raises(RuntimeError, match="rviz2 is not installed"):
        module._actions(context)
    assert opaque is not None


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None,
                    reason="launch / launch_ros are not installable here (no ros2 launch); runs where they are")
@pytest.mark.parametrize("arguments, depth", [({}, True), ({"use_depth": "false"}, False)])
def test_a_real_launch_gives_the_node_the_params_file_and_the_arguments(tmp_path, rclpy_context, arguments, depth):
    """Under ros2 launch, use_depth: true in a params file had no effect: the launch's default overrode it."""
    import threading
    import time

    import rclpy
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    from launch import LaunchDescription, LaunchService

    params = tmp_path / "mine.yaml"
    params.write_text("/**:\n  ros__parameters:\n    use_depth: true\n    qos_depth: 3\n")
    service = LaunchService()
    service.include_launch_description(LaunchDescription([IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(LAUNCH)),
        launch_arguments={"params_file": str(params), **arguments}.items())]))
    seen: set[str] = set()

    def observe():  # LaunchService runs only in the main thread: the observer runs beside it
        node = rclpy.create_node("launch_observer", context=rclpy_context)
        try:
            deadline = time.monotonic() + 60.0
            while time.monotonic() < deadline and "/camera/color/image_raw" not in seen:
                time.sleep(0.2)
                with contextlib.suppress(Exception):  # the node is not in the graph yet
                    seen.update(t for t, _ in node.get_subscriber_names_and_types_by_node("vis_ros", "/"))
            time.sleep(0.5)
            seen.update(t for t, _ in node.get_subscriber_names_and_types_by_node("vis_ros", "/"))
        finally:
            node.destroy_node()
            service.shutdown()

    observer = threading.Thread(target=observe)
    observer.start()
    service.run()
    observer.join()
    assert "/camera/color/image_raw" in seen, "the launched node never subscribed (autostart)"
    assert ("/camera/aligned_depth_to_color/image_raw" in seen) == depth, seen


def test_launch_remaps_each_camera_to_its_driver_topics():
    from vis_ros.processes.camera_topics import (
        TOPIC_ARGUMENTS,
        camera_remappings,
        launch_remappings,
        parse_cameras,
        single_camera_remappings,
    )

    assert parse_cameras("") == [] and parse_cameras("[front, left]") == ["front", "left"]
    assert parse_cameras("front,left") == ["front", "left"]
    remaps = dict(camera_remappings(["front", "left"]))
    assert remaps["front/image"] == "/front/camera/color/image_raw"
    assert remaps["left/depth"] == "/left/camera/aligned_depth_to_color/image_raw"
    assert remaps["left/camera_info"] == "/left/camera/color/camera_info"
    assert remaps["front/image/compressed"] == "/front/camera/color/image_raw/compressed"
    custom = dict(camera_remappings(["a"], image="/cams/{name}/rgb", depth="/cams/{name}/d", info="/cams/{name}/k"))
    assert custom == {"a/image": "/cams/a/rgb", "a/image/compressed": "/cams/a/rgb/compressed",
                      "a/depth": "/cams/a/d", "a/camera_info": "/cams/a/k"}
    # One camera: the RealSense layout by default, depth and camera_info included
    defaults = {name: default for name, (default, _) in TOPIC_ARGUMENTS.items()}
    assert dict(launch_remappings(defaults, [""])) == {
        "image": "/camera/color/image_raw", "image/compressed": "/camera/color/image_raw/compressed",
        "depth": "/camera/aligned_depth_to_color/image_raw", "camera_info": "/camera/color/camera_info"}
    assert dict(single_camera_remappings("/r/cam/color", "image_rect"))["depth"] == \
        "/r/cam/aligned_depth_to_color/image_raw"
    with pytest.raises(ValueError, match="has no {name}"):
        camera_remappings(["a"], image="/fixed/image")
    with pytest.raises(ValueError, match="cameras must be a list of names"):
        parse_cameras("[1, 2]")
    with pytest.raises(ValueError, match="camera and image_topic are both empty"):
        single_camera_remappings("", "")
