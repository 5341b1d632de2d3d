"""Several cameras on one node and one engine: names, topics, batching, isolation, unique ids.

In-process with real rclpy and the embedded model (dynamic batch axis).
The cross-process version, with camera publishers in their own processes,
is test_node_cameras_processes.py.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from vis_ros.core.sim.scene import SimOptions  # noqa: E402
from vis_ros.core.sim.sequence import generate_sequence  # noqa: E402
from vis_ros.msg import InstanceArray  # noqa: E402
from vis_ros.ros.image_msgs import image_msg  # noqa: E402
from vis_ros.ros.node import VisRosNode  # noqa: E402

SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
CAMERAS = ("front", "left")


def _node(context, **params):
    return VisRosNode(context=context, parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])


@pytest.mark.parametrize("cameras, message", [
    (["front", "2nd"], "cameras: '2nd' is not a valid ROS name"),
    (["front", "front"], "cameras: ['front'] named more than once"),
    (["a b"], "cameras: 'a b' is not a valid ROS name"),
    (["x__y"], "cameras: 'x__y' is not a valid ROS name"),
    (["front", ""], "cameras: ['front', ''] has an empty name; name every camera")])
def test_bad_camera_names_fail_configure_naming_them(rclpy_context, capfd, cameras, message):
    node = _node(rclpy_context, cameras=cameras)
    try:
        assert node.trigger_configure() == FAILURE
        assert message in capfd.readouterr().err
    finally:
        node.destroy_node()


def test_max_batch_below_one_fails_configure_naming_it(rclpy_context, capfd):
    node = _node(rclpy_context, cameras=list(CAMERAS), max_batch=0)
    try:
        assert node.trigger_configure() == FAILURE
        assert "max_batch must be in [1, 64], got 0" in capfd.readouterr().err
    finally:
        node.destroy_node()


SEND_PERIOD_S = 0.25


class Cameras:
    """The node with two named cameras, and a publisher + listener per camera.

    Frames are sent on a fixed schedule (every SEND_PERIOD_S), both cameras'
    at once, and the batch waits up to 50 ms for a camera due within it: so
    the node sees two steady cameras and batches them however loaded the
    machine is (a 5 ms wait against send times that wander with the load did
    not, under CI load).
    """

    def __init__(self, context, **params):
        params = {"batch_wait_ms": 50.0, **params}
        self.node = _node(context, cameras=list(CAMERAS), qos_reliability="reliable", track_min_hits=1, **params)
        self._next_send = 0.0
        self.rig = rclpy.create_node("cameras", context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.executor.add_node(self.rig)
        self.images = {c: self.rig.create_publisher(Image, f"/{c}/image", RELIABLE) for c in CAMERAS}
        self.outputs = {c: [] for c in CAMERAS}
        for c in CAMERAS:
            self.rig.create_subscription(InstanceArray, f"/vis_ros/{c}/instances", self.outputs[c].append, RELIABLE)
        self.diagnostics = []
        self.rig.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append, 10)
        assert self.node.trigger_configure() == SUCCESS and self.node.trigger_activate() == SUCCESS
        self.spin(until=lambda: all(p.get_subscription_count() for p in self.images.values()))

    def spin(self, seconds: float = 5.0, until=lambda: False) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            self.executor.spin_once(timeout_sec=0.01)

    def send(self, frames: dict) -> None:
        """Publish one frame per camera in `frames` ({camera: (rgb, frame_id)}) and wait for each output."""
        expected = {c: len(self.outputs[c]) + (c in frames) for c in CAMERAS}
        handled = {c: self.handled(c) + (c in frames) for c in CAMERAS}
        self._next_send = max(self._next_send + SEND_PERIOD_S, time.monotonic())
        self.spin(self._next_send - time.monotonic())
        for camera, (rgb, frame_id) in frames.items():
            stamp = self.rig.get_clock().now().to_msg()
            self.images[camera].publish(image_msg(Header(stamp=stamp, frame_id=frame_id), rgb, "rgb8"))
        self.spin(until=lambda: all(self.handled(c) >= handled[c] for c in CAMERAS))
        self.spin(1.0, until=lambda: all(len(self.outputs[c]) >= expected[c] for c in CAMERAS
                                         if self.handled(c) == self.processed(c) + self.invalid(c)))

    def camera(self, name: str):
        """Return the camera's report, as /diagnostics publishes it."""
        cameras, _ = self.node.reports()
        return next(c for c in cameras if c.name == name)

    def engine(self):
        return self.node.reports()[1]

    def processed(self, name: str) -> int:
        return self.camera(name).counts.frames_processed

    def invalid(self, name: str) -> int:
        return self.camera(name).counts.frames_invalid

    def handled(self, name: str) -> int:
        return self.processed(name) + self.invalid(name)

    def close(self) -> None:
        self.node.trigger_deactivate()
        self.node.trigger_cleanup()
        self.node.destroy_node()
        self.rig.destroy_node()


@pytest.fixture
def cameras(rclpy_context):
    rig = Cameras(rclpy_context)
    yield rig
    rig.close()


def _sequence(seed, frames, width=640, height=480):
    _, it = generate_sequence(seed, frames, SimOptions(width=width, height=height, objects=4, object_speed=0.05))
    return [f.rgb for f in it]


def test_two_cameras_get_their_own_outputs_with_unique_ids_from_one_engine(cameras):
    front, left = _sequence(5_000_001, 6), _sequence(5_000_002, 6, 320, 240)
    for a, b in zip(front, left, strict=True):
        cameras.send({"front": (a, "front_optical"), "left": (b, "left_optical")})
    got = cameras.outputs
    assert len(got["front"]) == len(got["left"]) == 6
    assert {m.header.frame_id for m in got["front"]} == {"front_optical"}
    assert {m.header.frame_id for m in got["left"]} == {"left_optical"}
    assert (got["left"][-1].width, got["left"][-1].height) == (320, 240)
    ids = {c: {i.id for m in got[c] for i in m.instances} for c in CAMERAS}
    assert ids["front"] and ids["left"] and not ids["front"] & ids["left"]  # unique across the node
    engine = cameras.engine().calls_by_batch
    assert engine.get(2, 0) >= 4, engine  # the frames of both cameras shared engine calls
    cameras.spin(1.5)
    statuses = {s.name: s for s in cameras.diagnostics[-1].status}
    assert set(statuses) == {"vis_ros: front", "vis_ros: left", "vis_ros: engine"}
    values = {kv.key: kv.value for kv in statuses["vis_ros: engine"].values}
    assert int(values["engine_calls_batch_2"]) >= 4 and "engine_time_batch_2_p50_ms" in values
    front_values = {kv.key: kv.value for kv in statuses["vis_ros: front"].values}
    assert front_values["frames_processed"] == "6" and front_values["input_topic"] == "/front/image"


def test_an_invalid_frame_or_a_size_change_on_one_camera_leaves_the_other_alone(cameras):
    front, left = _sequence(5_000_003, 8), _sequence(5_000_004, 8)
    for k in range(4):
        cameras.send({"front": (front[k], "f"), "left": (left[k], "l")})
    left_ids = {i.id for i in cameras.outputs["left"][-1].instances}
    bad = image_msg(Header(stamp=cameras.rig.get_clock().now().to_msg(), frame_id="f"), front[4], "rgb8")
    bad.encoding = "yuv422_yuy2"
    cameras.images["front"].publish(bad)
    cameras.send({"left": (left[4], "l")})
    cameras.spin(1.0, until=lambda: cameras.invalid("front") == 1)
    assert cameras.invalid("front") == 1 and cameras.invalid("left") == 0
    assert "yuv422_yuy2" in cameras.camera("front").last_error and not cameras.camera("left").last_error
    cameras.send({"front": (front[5][::2, ::2].copy(), "f"), "left": (left[5], "l")})  # front shrinks
    assert cameras.camera("front").counts.pipeline_resets == 1
    assert cameras.camera("left").counts.pipeline_resets == 0
    assert {i.id for i in cameras.outputs["left"][-1].instances} & left_ids  # left kept its tracks
    front_ids_after = {i.id for i in cameras.outputs["front"][-1].instances}
    assert front_ids_after and not front_ids_after & {i.id for m in cameras.outputs["front"][:4] for i in m.instances}


def test_each_camera_decides_its_own_keyframes_and_due_keyframes_share_a_call(rclpy_context):
    rig = Cameras(rclpy_context, keyframe_interval=3)
    try:
        front, left = _sequence(5_000_005, 6), _sequence(5_000_006, 6)
        for a, b in zip(front, left, strict=True):
            rig.send({"front": (a, "f"), "left": (b, "l")})
        for name in CAMERAS:
            keyframes = [m.keyframe for m in rig.outputs[name]]
            assert len(keyframes) == 6 and keyframes[0] and not all(keyframes), (name, keyframes)
            assert rig.camera(name).counts.keyframes == sum(keyframes)
        batches = rig.engine().calls_by_batch
        assert batches.get(2, 0) >= 1, batches  # the first keyframes were due together
    finally:
        rig.close()


def test_a_fixed_batch_model_runs_the_cameras_one_after_another_and_says_so(rclpy_context, tmp_path, capfd):
    from yolo_onnx import yolo_seg_model

    model = yolo_seg_model(tmp_path / "fixed.onnx", input_hw=(256, 320), num_classes=3,
                           boxes=[(160, 128, 100, 80, 1, 0.9)])
    rig = Cameras(rclpy_context, model=str(model))
    try:
        assert "one after another (the model has a fixed batch of 1)" in capfd.readouterr().err
        image = np.full((480, 640, 3), 200, np.uint8)
        rig.send({"front": (image, "f"), "left": (image, "l")})
        assert rig.processed("front") == rig.processed("left") == 1
        assert rig.engine().calls_by_batch == {1: 2}
    finally:
        rig.close()
