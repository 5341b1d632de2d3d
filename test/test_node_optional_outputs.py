"""The ecosystem outputs: off with a reason where they cannot run, on and current where they can.

A robot without vision_msgs or moveit_msgs (simulated by hiding the installed
packages from import), or collision objects without a target_frame: the node
configures, says once which outputs are off and why (log and /diagnostics),
and keeps publishing the rest. ~/label_info is latched and follows the
score tracks start from.
"""
from __future__ import annotations

import sys
import time

import pytest

rclpy = pytest.importorskip("rclpy")
vision_msgs = pytest.importorskip("vision_msgs.msg", reason="built by make test from test/interfaces")
pytestmark = pytest.mark.ros

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402

from vis_ros.ros.node import VisRosNode  # noqa: E402

SUCCESS = TransitionCallbackReturn.SUCCESS


def _node(context, **params):
    return VisRosNode(context=context, parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])


def _topics(node):
    return {p.topic_name for p in node.publishers}


def test_without_vision_msgs_and_moveit_msgs_the_node_names_what_is_off_and_runs(rclpy_context, tf2_ros,
                                                                                monkeypatch, capfd):
    monkeypatch.setitem(sys.modules, "vision_msgs.msg", None)
    monkeypatch.setitem(sys.modules, "moveit_msgs.msg", None)
    node = _node(rclpy_context, use_depth=True, target_frame="world")
    try:
        assert node.trigger_configure() == SUCCESS
        topics = _topics(node)
        assert "/vis_ros/instances" in topics and "/vis_ros/instances_3d" in topics
        assert not {"/vis_ros/detections", "/vis_ros/detections_3d", "/vis_ros/label_info",
                    "/collision_object"} & topics
        vision, moveit = node.output_plan.off
        assert vision.startswith("~/detections, ~/detections_3d, ~/label_info: vision_msgs is not importable")
        assert "install ros-$ROS_DISTRO-vision-msgs" in vision
        assert moveit.startswith("collision objects on /collision_object: moveit_msgs is not importable")
        log = capfd.readouterr().err
        assert log.count("outputs off:") == 1 and "ros-$ROS_DISTRO-moveit-msgs" in log
        assert node.trigger_activate() == SUCCESS
        assert node.trigger_deactivate() == SUCCESS
    finally:
        node.trigger_cleanup()
        node.destroy_node()


def test_collision_objects_without_a_target_frame_are_refused_with_why(rclpy_context, capfd):
    node = _node(rclpy_context, use_depth=True)
    try:
        assert node.trigger_configure() == SUCCESS
        assert "/collision_object" not in _topics(node) and "/vis_ros/detections_3d" in _topics(node)
        (why,) = node.output_plan.off
        assert "no target_frame set: collision objects in the moving camera frame would be wrong" in why
        assert "publish_collision_objects:=false" in capfd.readouterr().err
    finally:
        node.trigger_cleanup()
        node.destroy_node()


def test_outputs_turned_off_by_parameter_are_not_created_and_not_warned_about(rclpy_context, capfd):
    node = _node(rclpy_context, use_depth=True, publish_detections=False, publish_label_info=False,
                 publish_detections_3d=False, publish_collision_objects=False)
    try:
        assert node.trigger_configure() == SUCCESS
        assert not {"/vis_ros/detections", "/vis_ros/detections_3d", "/vis_ros/label_info"} & _topics(node)
        assert node.output_plan.off == () and "outputs off" not in capfd.readouterr().err
    finally:
        node.trigger_cleanup()
        node.destroy_node()


def test_label_info_is_latched_at_activate_and_follows_the_start_score(rclpy_context):
    node = _node(rclpy_context)
    listener = rclpy.create_node("label_listener", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    executor.add_node(listener)
    got = []
    try:
        assert node.trigger_configure() == SUCCESS
        assert node.trigger_activate() == SUCCESS
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        listener.create_subscription(vision_msgs.LabelInfo, "/vis_ros/label_info", got.append, latched)  # late

        def spin_until(count):
            end = time.monotonic() + 5.0
            while len(got) < count and time.monotonic() < end:
                executor.spin_once(timeout_sec=0.02)

        spin_until(1)
        assert len(got) == 1 and got[0].threshold == pytest.approx(0.4)  # max(score_threshold, track_high_score)
        assert [c.class_name for c in got[0].class_map] == list(node.worker.segmenter.class_names)
        assert node.set_parameters([Parameter("score_threshold", value=0.7)])[0].successful
        spin_until(2)
        assert len(got) == 2 and got[1].threshold == pytest.approx(0.7)
        assert node.set_parameters([Parameter("nms_iou", value=0.6)])[0].successful
        time.sleep(0.3)
        spin_until(3)
        assert len(got) == 2  # nothing new to say
    finally:
        node.trigger_deactivate()
        node.trigger_cleanup()
        listener.destroy_node()
        node.destroy_node()
