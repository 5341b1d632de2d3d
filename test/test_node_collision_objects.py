"""The node keeps MoveIt's planning scene in step with its tracks (moveit_msgs/CollisionObject).

A played sim sequence in which the camera pans away from every object: each
confirmed track is ADDed as a box in the target frame, MOVEd as its fused
pose changes, and REMOVEd once the tracker drops it; a deactivate removes
what is still there. The poses and sizes are the ones ~/instances_3d
publishes at the same stamp. TF comes from a static transform (the real
tf2_ros where installed, else its contract).
"""
from __future__ import annotations

import math
import time
from collections import defaultdict

import pytest

rclpy = pytest.importorskip("rclpy")
moveit_msgs = pytest.importorskip("moveit_msgs.msg", reason="built by make test from test/interfaces")
pytestmark = [pytest.mark.slow, pytest.mark.ros]

from geometry_msgs.msg import TransformStamped  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402

from vis_ros.core.data.instances import TrackState  # noqa: E402
from vis_ros.core.data.stamps import stamp_to_ns  # noqa: E402
from vis_ros.core.sim.dataset import SimDataset, write_sequence  # noqa: E402
from vis_ros.core.sim.scene import SimOptions  # noqa: E402
from vis_ros.msg import Instance3DArray, InstanceArray  # noqa: E402
from vis_ros.ros.collision_objects import MIN_BOX_SIZE_M  # noqa: E402
from vis_ros.ros.convert import frame3d_from_msg  # noqa: E402
from vis_ros.ros.node import VisRosNode  # noqa: E402
from vis_ros.ros.player import SequencePlayer  # noqa: E402

CollisionObject = moveit_msgs.CollisionObject
ADD, MOVE, REMOVE = CollisionObject.ADD, CollisionObject.MOVE, CollisionObject.REMOVE
FRAMES = 20  # every object has left the view by frame 14 (seed 3_000_022)
FPS = 4.0
PERIOD_S = 1.0 / FPS
SUCCESS = TransitionCallbackReturn.SUCCESS


def _camera_in_world() -> TransformStamped:
    t = TransformStamped()
    t.header.frame_id, t.child_frame_id = "world", "camera_color_optical_frame"
    t.transform.translation.x, t.transform.translation.z = 0.5, 1.2
    t.transform.rotation.x, t.transform.rotation.w = -math.sqrt(0.5), math.sqrt(0.5)  # optical z -> world y
    return t


@pytest.fixture
def rig(rclpy_context, tf2_ros, tmp_path):
    write_sequence(tmp_path, 3_000_022, FRAMES, SimOptions(objects=3, fps=FPS, object_speed=0.15, camera_motion=0.4))
    node = VisRosNode(context=rclpy_context, parameter_overrides=[
        Parameter("use_depth", value=True), Parameter("qos_reliability", value="reliable"),
        Parameter("target_frame", value="world"), Parameter("track_min_hits", value=1),
        Parameter("collision_object_rate", value=30.0), Parameter("track_report_coasting", value=0.5),
        Parameter("track_max_age", value=0.5)])
    cam = rclpy.create_node("cam", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    executor.add_node(cam)
    broadcaster = tf2_ros.StaticTransformBroadcaster(cam)
    broadcaster.sendTransform(_camera_in_world())
    got = {"objects": [], "2d": [], "3d": []}
    reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    cam.create_subscription(CollisionObject, "/collision_object", got["objects"].append, reliable)
    cam.create_subscription(InstanceArray, "/vis_ros/instances", got["2d"].append, reliable)
    cam.create_subscription(Instance3DArray, "/vis_ros/instances_3d", got["3d"].append, reliable)
    player = SequencePlayer(cam, SimDataset(tmp_path))
    player.color = cam.create_publisher(Image, "/image", reliable)
    player.depth = cam.create_publisher(Image, "/depth", reliable)
    player.info = cam.create_publisher(CameraInfo, "/camera_info", reliable)
    assert node.trigger_configure() == SUCCESS
    yield node, executor, player, got
    node.trigger_deactivate()
    node.trigger_cleanup()
    node.destroy_node()
    cam.destroy_node()


def _spin(executor, seconds, until=lambda: False):
    end = time.monotonic() + seconds
    while time.monotonic() < end and not until():
        executor.spin_once(timeout_sec=0.01)


def _play(executor, player, got, frames):
    """Publish one frame per sim period (the stamps are the wall clock), each output awaited."""
    for i in frames:
        expected, next_frame_s = len(got["2d"]) + 1, time.monotonic() + PERIOD_S
        player.publish(i)
        _spin(executor, 10.0, until=lambda expected=expected: len(got["2d"]) >= expected)
        assert len(got["2d"]) == expected, "the node published nothing for a frame"
        _spin(executor, next_frame_s - time.monotonic())
    _spin(executor, 0.5)


def test_collision_objects_follow_tracks_into_and_out_of_the_planning_scene(rig):
    node, executor, player, got = rig
    assert node.trigger_activate() == SUCCESS
    _spin(executor, 1.0)  # discovery and the static transform
    player.preload()
    _play(executor, player, got, range(FRAMES))
    assert len(got["3d"]) == FRAMES, node.reports()
    states = {stamp_to_ns(m.header.stamp): {i.id: i.state for i in m.instances} for m in got["2d"]}
    fused = {f.stamp_ns: {i.track_id: i for i in f.instances} for f in map(frame3d_from_msg, got["3d"])}
    assert all(m.header.frame_id == "world" for m in got["3d"])
    by_object = defaultdict(list)
    for msg in got["objects"]:
        assert msg.header.frame_id == "world"
        by_object[msg.id].append(msg)
        stamp = stamp_to_ns(msg.header.stamp)
        track_id = int(msg.id.removeprefix("vis_ros_"))
        if msg.operation == REMOVE:  # the tracker no longer publishes the track
            assert track_id not in states[stamp], msg.id
            continue
        assert states[stamp][track_id] == TrackState.CONFIRMED
        instance = fused[stamp][track_id]  # the pose ~/instances_3d published at that stamp
        p, q = msg.pose.position, msg.pose.orientation
        assert (p.x, p.y, p.z) == pytest.approx(instance.position, abs=1e-9)
        assert (q.x, q.y, q.z, q.w) == pytest.approx(instance.orientation, abs=1e-9)
        if msg.operation == ADD:
            (box,) = msg.primitives
            assert list(box.dimensions) == pytest.approx([max(MIN_BOX_SIZE_M, s) for s in instance.size])
        else:
            assert msg.operation == MOVE and not msg.primitives
    assert by_object, "no collision object was added"
    for object_id, messages in by_object.items():
        operations = [m.operation for m in messages]
        assert operations[0] == ADD and operations[-1] == REMOVE, (object_id, operations)
        assert operations.count(REMOVE) == 1, (object_id, operations)  # every object left the view
    assert any(MOVE in [m.operation for m in messages] for messages in by_object.values())


def test_a_deactivate_removes_every_object_still_in_the_scene(rig):
    node, executor, player, got = rig
    assert node.trigger_activate() == SUCCESS
    _spin(executor, 1.0)
    _play(executor, player, got, range(4))
    added = {m.id for m in got["objects"] if m.operation == ADD}
    live = added - {m.id for m in got["objects"] if m.operation == REMOVE}
    assert live, [(m.id, m.operation) for m in got["objects"]]
    before = len(got["objects"])
    assert node.trigger_deactivate() == SUCCESS
    _spin(executor, 1.0, until=lambda: len(got["objects"]) >= before + len(live))
    withdrawn = got["objects"][before:]
    assert {m.id for m in withdrawn} == live and all(m.operation == REMOVE for m in withdrawn)
    assert node.trigger_activate() == SUCCESS  # the fixture deactivates at the end
