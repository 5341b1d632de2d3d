"""What the node does with bad stamps, errors that stop, size changes and bad parameters.

In-process with real rclpy and the embedded model; each test names the
behaviour a user relies on (see the README's failure table).
"""
from __future__ import annotations

import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

from builtin_interfaces.msg import Time  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from reports import camera_report, counts  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from vis_ros.core.sim.scene import SimOptions  # noqa: E402
from vis_ros.core.sim.sequence import generate_sequence  # noqa: E402
from vis_ros.msg import InstanceArray  # noqa: E402
from vis_ros.ros.image_msgs import image_msg  # noqa: E402
from vis_ros.ros.node import VisRosNode  # noqa: E402

SUCCESS = TransitionCallbackReturn.SUCCESS
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


class Rig:
    """The node (active, reliable QoS) and a camera node that publishes and listens."""

    def __init__(self, context, **params):
        params.setdefault("qos_reliability", "reliable")
        self.node = VisRosNode(context=context, parameter_overrides=[Parameter(k, value=v)
                                                                     for k, v in params.items()])
        self.camera = rclpy.create_node("camera", context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.executor.add_node(self.camera)
        self.image = self.camera.create_publisher(Image, "/image", RELIABLE)
        self.outputs, self.diagnostics = [], []
        self.camera.create_subscription(InstanceArray, "/vis_ros/instances", self.outputs.append, RELIABLE)
        self.camera.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append, 10)
        assert self.node.trigger_configure() == SUCCESS and self.node.trigger_activate() == SUCCESS

    def spin(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.01)

    def send(self, rgb, stamp=None, wait_s: float = 5.0) -> None:
        """Publish one frame and wait until the node has dealt with it."""
        done = self.handled() + 1
        stamp = self.camera.get_clock().now().to_msg() if stamp is None else stamp
        self.image.publish(image_msg(Header(stamp=stamp, frame_id="cam"), rgb, "rgb8"))
        deadline = time.monotonic() + wait_s
        while self.handled() < done and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.01)
        assert self.handled() == done, counts(self.node)

    def wait_outputs(self, count: int, timeout_s: float = 5.0) -> None:
        """Spin until `count` InstanceArrays have arrived at the camera node."""
        deadline = time.monotonic() + timeout_s
        while len(self.outputs) < count and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.01)

    def handled(self) -> int:
        c = counts(self.node)
        return c.frames_processed + c.frames_invalid

    def last_status(self) -> DiagnosticStatus:
        return self.diagnostics[-1].status[0]

    def close(self) -> None:
        self.node.trigger_deactivate()
        self.node.trigger_cleanup()
        self.camera.destroy_node()
        self.node.destroy_node()


@pytest.fixture(scope="module")
def frames():
    _, it = generate_sequence(2_000_031, 12, SimOptions(objects=4, object_speed=0.1))
    return [f.rgb for f in it]


def test_zero_stamps_are_processed_at_arrival_time_and_never_poison_latency(rclpy_context, frames, capfd):
    rig = Rig(rclpy_context)
    try:
        for rgb in frames:
            rig.send(rgb, stamp=Time(sec=0, nanosec=0))
            time.sleep(1 / 30)
        rig.wait_outputs(len(frames))
        report = camera_report(rig.node)
        assert report.counts.frames_unstamped == len(frames)
        assert "end_to_end" not in report.latency_ms and "transport" not in report.latency_ms
        stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in rig.outputs]
        assert len(stamps) == len(frames) and stamps[0] > 0 and all(np.diff(stamps) > 10**7)
        assert any(m.instances for m in rig.outputs[3:])  # tracks confirm on real dt
        assert capfd.readouterr().err.count("images arrive with stamp 0") == 1
    finally:
        rig.close()


def test_stamps_far_off_the_node_clock_are_kept_out_of_latency(rclpy_context, frames, capfd):
    rig = Rig(rclpy_context)
    try:
        start = rig.camera.get_clock().now().nanoseconds - 3600 * 10**9  # an hour behind
        for i, rgb in enumerate(frames[:4]):
            ns = start + i * 33_333_333
            rig.send(rgb, stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9))
        report = camera_report(rig.node)
        assert report.counts.frames_stamp_off_clock == 4 and "end_to_end" not in report.latency_ms
        assert "image stamps are 3600.0 s off the receiving clock" in capfd.readouterr().err
    finally:
        rig.close()


def test_an_error_is_reported_while_recent_then_the_status_clears(rclpy_context, frames, monkeypatch):
    from vis_ros.ros import diagnostics

    monkeypatch.setattr(diagnostics, "RECENT_ERROR_S", 1.0)
    rig = Rig(rclpy_context, diagnostics_period=0.1)
    try:
        rig.send(frames[0])
        bad = Image(height=480, width=640, encoding="rgb8", step=1920, data=bytes(100))
        bad.header.stamp = rig.camera.get_clock().now().to_msg()
        rig.image.publish(bad)
        rig.spin(0.4)
        status = rig.last_status()
        assert status.level == DiagnosticStatus.WARN and "needs 921600 bytes" in status.message
        for rgb in frames[1:8]:  # good frames for more than RECENT_ERROR_S
            rig.send(rgb)
            rig.spin(0.15)
        status = rig.last_status()
        values = {kv.key: kv.value for kv in status.values}
        assert (status.level, status.message) == (DiagnosticStatus.OK, "running")
        assert values["frames_invalid"] == "1" and float(values["last_error_age_s"]) > 1.0
        assert values["last_error"].startswith("rgb8 image 640x480")
    finally:
        rig.close()


def test_an_image_size_change_restarts_tracking_and_says_so(rclpy_context, frames, capfd):
    import cv2

    rig = Rig(rclpy_context)
    try:
        for rgb in frames[:4]:
            rig.send(rgb)
        for rgb in frames[4:8]:
            rig.send(cv2.resize(rgb, (320, 240)))
        rig.wait_outputs(8)
        assert counts(rig.node).pipeline_resets == 1
        assert "image size changed from 640x480 to 320x240: tracking restarted" in capfd.readouterr().err
        assert rig.outputs[-1].width == 320
    finally:
        rig.close()


def test_an_integer_for_a_double_is_accepted_and_a_wrong_type_is_named(rclpy_context):
    node = VisRosNode(context=rclpy_context)
    (ok,) = node.set_parameters([Parameter("score_threshold", value=1)])
    assert ok.successful and node.parameters.settings().tracker.high_score == 1.0
    (bad,) = node.set_parameters([Parameter("nms_iou", value="high")])
    assert not bad.successful
    assert bad.reason == "nms_iou expects a double (default 0.5), got a string 'high'"
    (bad,) = node.set_parameters([Parameter("max_instances", value=2.5)])
    assert bad.reason == "max_instances expects an integer (default 100), got a double 2.5"
    node.destroy_node()


def test_a_wrong_type_given_at_start_fails_configure_naming_it(rclpy_context, capfd):
    node = VisRosNode(context=rclpy_context, parameter_overrides=[Parameter("qos_depth", value="five")])
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert "configure failed: qos_depth expects an integer (default 5), got a string 'five'" in \
        capfd.readouterr().err
    node.destroy_node()


def test_a_shadowed_setting_is_warned_once_per_change_on_the_values_after_the_request(rclpy_context, capfd):
    node = VisRosNode(context=rclpy_context)
    capfd.readouterr()
    result = node.set_parameters_atomically([Parameter("track_high_score", value=0.3),
                                             Parameter("score_threshold", value=0.25)])
    assert result.successful
    assert "is below score_threshold" not in capfd.readouterr().err  # 0.3 is above 0.25: nothing shadowed
    node.set_parameters([Parameter("score_threshold", value=0.6)])
    node.set_parameters([Parameter("nms_iou", value=0.6)])  # unrelated
    node.set_parameters([Parameter("mask_threshold", value=0.45)])  # unrelated
    err = capfd.readouterr().err
    assert err.count("track_high_score 0.3 is below score_threshold 0.6") == 1
    node.set_parameters([Parameter("score_threshold", value=0.7)])  # a change: said again, with the new value
    assert "track_high_score 0.3 is below score_threshold 0.7" in capfd.readouterr().err
    node.destroy_node()


def test_the_shutdown_transition_finalizes_the_node(rclpy_context):
    node = VisRosNode(context=rclpy_context)
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    assert not node.finalized
    assert node.trigger_shutdown() == SUCCESS
    assert node.finalized and node.worker is None
    node.destroy_node()
