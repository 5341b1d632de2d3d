"""The node and process-bag write the same InstanceArray bytes for the same frames.

Both run the node's default pipeline and its one serializer
(vis_ros.io.instance_wire); this holds them to it end to end: the images
process-bag reads from a bag are published one at a time to the lifecycle
node (reliable, each output awaited, so none is dropped as stale), and what
the node publishes, taken as raw bytes, equals what process-bag wrote.
"""
from __future__ import annotations

import time

import pytest

rclpy = pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from rclpy.serialization import deserialize_message  # noqa: E402
from rosbags.rosbag2 import Reader  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from vis_ros.cli import main  # noqa: E402
from vis_ros.core.sim.dataset import SimDataset, write_sequence  # noqa: E402
from vis_ros.core.sim.scene import SimOptions  # noqa: E402
from vis_ros.io.bag_export import COLOR_TOPIC, export_bag  # noqa: E402
from vis_ros.msg import InstanceArray  # noqa: E402
from vis_ros.ros.node import VisRosNode  # noqa: E402

FRAMES = 10


def _raw_messages(bag, topic):
    with Reader(bag) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        return [bytes(raw) for _, _, raw in reader.messages(connections=connections)]


def test_node_publishes_the_bytes_process_bag_writes(rclpy_context, tmp_path):
    write_sequence(tmp_path / "seq", 2_000_021, FRAMES, SimOptions(objects=6))
    export_bag(SimDataset(tmp_path / "seq"), tmp_path / "in")
    assert main(["process-bag", str(tmp_path / "in"), str(tmp_path / "out")]) == 0
    from_bag = _raw_messages(tmp_path / "out", "/vis_ros/instances")
    images = [deserialize_message(raw, Image) for raw in _raw_messages(tmp_path / "in", COLOR_TOPIC)]
    assert len(from_bag) == len(images) == FRAMES

    node = VisRosNode(context=rclpy_context, parameter_overrides=[Parameter("qos_reliability", value="reliable")])
    camera = rclpy.create_node("bag_camera", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    executor.add_node(camera)
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    publisher = camera.create_publisher(Image, "image", qos)
    from_node = []
    camera.create_subscription(InstanceArray, "vis_ros/instances", from_node.append, qos, raw=True)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        for image in images:
            expected = len(from_node) + 1
            publisher.publish(image)
            deadline = time.monotonic() + 10.0
            while len(from_node) < expected and time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.01)
            assert len(from_node) == expected, "the node published nothing for a frame"
        (report,), _ = node.reports()
        assert report.counts.frames_processed == FRAMES and report.counts.frames_dropped_stale == 0
        assert any(deserialize_message(raw, InstanceArray).instances for raw in from_node)
        assert [bytes(raw) for raw in from_node] == from_bag
    finally:
        node.trigger_deactivate()
        node.trigger_cleanup()
        camera.destroy_node()
        node.destroy_node()
