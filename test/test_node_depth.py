"""The node with depth on.

The node with depth on: 3D instances, markers, points; missing CameraInfo and
garbage depth are reported and survived.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from reports import counts  # noqa: E402
from sensor_msgs.msg import PointCloud2  # noqa: E402
from visualization_msgs.msg import Marker, MarkerArray  # noqa: E402

from vis_ros.core.sim.dataset import SimDataset, write_sequence  # noqa: E402
from vis_ros.core.sim.scene import SimOptions  # noqa: E402
from vis_ros.msg import Instance3DArray, InstanceArray  # noqa: E402
from vis_ros.ros.node import VisRosNode  # noqa: E402
from vis_ros.ros.player import SequencePlayer  # noqa: E402


@pytest.fixture
def setup(rclpy_context, tmp_path):
    write_sequence(tmp_path, 2_000_005, 12, SimOptions(objects=5, object_speed=0.05))
    node = VisRosNode(context=rclpy_context, parameter_overrides=[
        Parameter("use_depth", value=True), Parameter("qos_reliability", value="reliable"),
        Parameter("track_min_hits", value=1)])
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    cam = rclpy.create_node("cam", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    executor.add_node(cam)
    got = {"2d": [], "3d": [], "markers": [], "points": []}
    cam.create_subscription(InstanceArray, "/vis_ros/instances", got["2d"].append, 10)
    cam.create_subscription(Instance3DArray, "/vis_ros/instances_3d", got["3d"].append, 10)
    cam.create_subscription(MarkerArray, "/vis_ros/markers", got["markers"].append, 10)
    cam.create_subscription(PointCloud2, "/vis_ros/points", got["points"].append, 10)
    yield node, cam, executor, SimDataset(tmp_path), got
    node.trigger_deactivate()
    node.trigger_cleanup()
    node.destroy_node()
    cam.destroy_node()


def _spin(executor, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        executor.spin_once(timeout_sec=0.01)


def _player(cam, dataset):
    player = SequencePlayer(cam, dataset)
    # The node subscribes to relative names; point the player at them.
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    player.color = cam.create_publisher(Image, "/image", qos)
    player.depth = cam.create_publisher(Image, "/depth", qos)
    player.info = cam.create_publisher(CameraInfo, "/camera_info", qos)
    return player


def test_depth_gives_3d_instances_markers_and_points(setup):
    node, cam, executor, dataset, got = setup
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    player = _player(cam, dataset)
    _spin(executor, 1.0)
    for i in range(len(dataset)):
        player.publish(i)
        _spin(executor, 0.25)
    _spin(executor, 1.5)
    assert got["3d"], node.reports()
    last = got["3d"][-1]
    confident = [i for i in last.instances if i.confidence > 0]
    assert confident and all(0.3 < i.pose.position.z < 6.0 for i in confident)
    ids_2d = {i.id for i in got["2d"][-1].instances}
    assert {i.id for i in last.instances} == ids_2d
    boxes = [m for m in got["markers"][-1].markers if m.ns.endswith("boxes") and m.action == Marker.ADD]
    assert boxes and got["points"][-1].width > 100
    cloud = got["points"][-1]
    ids = np.frombuffer(cloud.data, np.uint8).reshape(-1, 16)[:, 12:16].copy().view("<u4").ravel()
    assert set(ids.tolist()) <= ids_2d
    assert counts(node).frames_without_3d == 0


def test_missing_camera_info_and_garbage_depth_are_reported_and_survived(setup, capfd):
    node, cam, executor, dataset, got = setup
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    player = _player(cam, dataset)
    player.info = cam.create_publisher(type(player.camera_info(None)), "/not_camera_info", 10)
    _spin(executor, 1.0)
    for i in range(4):
        player.publish(i)
        _spin(executor, 0.3)
    _spin(executor, 1.0)
    assert got["2d"] and not got["3d"]  # 2D keeps flowing without CameraInfo
    assert counts(node).frames_without_3d >= 3
    assert "3D skipped: no CameraInfo received on /camera_info" in capfd.readouterr().err


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
def test_depth_without_a_valid_pixel_is_counted_and_named_and_2d_keeps_flowing(setup, capfd, encoding):
    from std_msgs.msg import Header

    from vis_ros.ros.image_msgs import image_msg

    node, cam, executor, dataset, got = setup
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    player = _player(cam, dataset)
    _spin(executor, 1.0)
    empty = np.zeros((480, 640), np.uint16) if encoding == "16UC1" else np.full((480, 640), np.nan, np.float32)
    for i in range(4):
        rgb, _ = player._frame(i)
        header = Header(stamp=cam.get_clock().now().to_msg(), frame_id=player.frame_id)
        player.color.publish(image_msg(header, rgb, "rgb8"))
        player.depth.publish(image_msg(header, empty, encoding))
        player.info.publish(player.camera_info(header))
        _spin(executor, 0.3)
    _spin(executor, 1.0)
    assert len(got["2d"]) >= 3 and not got["3d"]
    assert counts(node).frames_without_3d == len(got["2d"])
    assert f"3D skipped: depth image 640x480 ({encoding}) has no valid pixel (all zero or NaN)" in \
        capfd.readouterr().err


def test_a_missing_transform_never_holds_up_2d_and_3d_says_why(rclpy_context, tmp_path, tf2_ros, capfd):
    """The 3D stage waits for TF as for late depth (here the longest wait, 1 s); the worker never blocks on it."""
    write_sequence(tmp_path, 2_000_006, 6, SimOptions(objects=4))
    dataset = SimDataset(tmp_path)
    node = VisRosNode(context=rclpy_context, parameter_overrides=[
        Parameter("use_depth", value=True), Parameter("qos_reliability", value="reliable"),
        Parameter("target_frame", value="world"), Parameter("depth_wait", value=1.0)])
    cam = rclpy.create_node("cam", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    executor.add_node(cam)
    got = {"2d": [], "3d": []}
    cam.create_subscription(InstanceArray, "/vis_ros/instances", got["2d"].append, 10)
    cam.create_subscription(Instance3DArray, "/vis_ros/instances_3d", got["3d"].append, 10)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        player = _player(cam, dataset)
        _spin(executor, 1.0)
        for i in range(len(dataset)):
            player.publish(i)
            end = time.monotonic() + 0.5
            while len(got["2d"]) < i + 1 and time.monotonic() < end:
                executor.spin_once(timeout_sec=0.01)
            assert len(got["2d"]) == i + 1  # each frame's 2D out while the 3D of those before still waits
        (report,), _ = node.reports()
        assert report.latency_ms["end_to_end"].p95_ms < 500.0, report.latency_ms["end_to_end"]
        # The node's own share (callback -> 2D out, less the engine) is inside the stamp-to-2D span.
        beyond = report.latency_ms["beyond_engine"]
        assert 0.0 < beyond.p50_ms < report.latency_ms["end_to_end"].p50_ms, (beyond, report.latency_ms)
        _spin(executor, 1.5)
        assert not got["3d"] and counts(node).frames_without_3d == len(dataset)
        err = capfd.readouterr().err
        assert f"3D skipped: no transform {dataset.manifest['frame_id']} -> world at the image stamp" in err
    finally:
        node.trigger_deactivate()
        node.trigger_cleanup()
        node.destroy_node()
        cam.destroy_node()
