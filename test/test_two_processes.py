"""Messages between two processes over the real middleware.

A publisher and a subscriber in two processes exchange vis_ros and sensor_msgs
messages over the real middleware (FastDDS on loopback).

Both use config/fastdds_large_messages.xml (set for the session by conftest,
as the launch file sets it for the node). Without it, a 640x480 rgb8 image
exceeds Fast DDS's 0.5 MB shared-memory segments and never arrives with
best-effort (sensor-data) QoS: the best-effort case is the check that the
profile is found and works.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.ros]
rclpy = pytest.importorskip("rclpy")

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from vis_ros.core.data.stamps import stamp_to_ns  # noqa: E402
from vis_ros.msg import InstanceArray  # noqa: E402
from vis_ros.ros.convert import frame_from_msg  # noqa: E402

PUBLISHER = Path(__file__).parent / "processes" / "publish_sample.py"


def _load_publisher_module():
    spec = importlib.util.spec_from_file_location("publish_sample", PUBLISHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("reliability", ["reliable", "best_effort"])
def test_instance_array_and_image_cross_processes(rclpy_context, tmp_path, reliability):
    sample = _load_publisher_module()
    seed = 7
    # -P: do not put the child's working directory first on sys.path.
    child = subprocess.Popen([sys.executable, "-P", str(PUBLISHER), str(seed), reliability], cwd=tmp_path)
    node = rclpy.create_node("sample_subscriber", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    received, sequences = {}, []

    def on_image(msg):
        received.setdefault("image", msg)
        sequences.append(stamp_to_ns(msg.header.stamp) - sample.sample_frame(seed).stamp_ns)

    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE if reliability == "reliable"
                     else ReliabilityPolicy.BEST_EFFORT)
    node.create_subscription(InstanceArray, "sample/instances",
                             lambda m: received.setdefault("instances", m), qos)
    node.create_subscription(Image, "sample/image", on_image, qos)
    try:
        deadline = time.monotonic() + 30.0
        while len(sequences) < 60 and time.monotonic() < deadline and child.poll() is None:
            executor.spin_once(timeout_sec=0.1)
    finally:
        child.terminate()
        child.wait(timeout=10)
        node.destroy_node()
    assert set(received) == {"instances", "image"}, f"only received {sorted(received)}"
    # A camera stream over loopback: (nearly) every image of the span arrives.
    span = sequences[-1] - sequences[0] + 1
    assert len(sequences) >= 60 and len(set(sequences)) >= 0.95 * span, (len(set(sequences)), span)

    assert frame_from_msg(received["instances"]) == sample.sample_frame(seed)
    image = received["image"]
    assert (image.encoding, image.height, image.width) == ("rgb8", 480, 640)
    assert stamp_to_ns(image.header.stamp) - sample.sample_frame(seed).stamp_ns == sequences[0]
    pixels = np.frombuffer(image.data, np.uint8).reshape(480, 640, 3)
    np.testing.assert_array_equal(pixels, sample.sample_image(seed))
