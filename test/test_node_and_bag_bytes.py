"""The node and process-bag write the same bytes for the same frames, on every output topic.

Both run the stream runner at the node's defaults and take their messages
from the one function that turns a published frame into its outputs
(io/frame_messages.py). This holds them to it end to end with depth on: the
colour, depth and CameraInfo messages process-bag reads from a bag are
published one frame at a time to the lifecycle node (reliable, each frame's
outputs awaited, so none is dropped), and what the node publishes on every
frame output of the catalogue that bags get (instances, labels, detections,
instances_3d, markers, points, detections_3d today, and with a target_frame
the object memory's remembered, sent when it changes; a new entry is covered
as it is added), taken as raw bytes, equals what process-bag wrote to those
topics. ~/label_info agrees but for its stamp (the node stamps it when it
activates). With a target_frame the bag's /tf goes to the node through TF
(tf2_ros, or its stand-in where it is not installed), and both fuse in that
frame: the same bytes again.
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
from vis_ros.core.fusion.transform import Rigid  # noqa: E402
from vis_ros.core.outputs.catalogue import OUTPUTS as CATALOGUE  # noqa: E402
from vis_ros.core.outputs.catalogue import Scope  # noqa: E402
from vis_ros.core.sim.dataset import SimDataset, write_sequence  # noqa: E402
from vis_ros.core.sim.scene import SimOptions  # noqa: E402
from vis_ros.io.bag_export import COLOR_TOPIC, DEPTH_TOPIC, INFO_TOPIC, TransformRecord, export_bag  # noqa: E402
from vis_ros.msg import InstanceArray  # noqa: E402
from vis_ros.ros.node import VisRosNode  # noqa: E402
from vis_ros.ros.outputs import message_class  # noqa: E402

FRAMES = 10
OUTPUTS = [spec for spec in CATALOGUE if spec.in_bags and spec.scope in (Scope.IMAGE, Scope.DEPTH)]


def _raw_messages(bag, topic):
    with Reader(bag) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        return [bytes(raw) for _, _, raw in reader.messages(connections=connections)]


# Rotations tf2 gives back bit for bit (or negated, the same rotation): tf2 keeps a rotation as a
# 3x3 matrix, so a general quaternion comes back within an ulp of what was sent, and the 3D
# within ~1e-15 m of process-bag's; with the stand-in (here) any rotation is bit for bit.
EXACT_IN_TF2 = ((-0.5, 0.5, -0.5, 0.5), (0.5, 0.5, 0.5, 0.5), (0.0, 0.0, 1.0, 0.0))


def _camera_in_world(k: int) -> Rigid:
    """Return the pose in "world" of a camera driving and turning, at frame k (any motion will do for bytes)."""
    return Rigid(EXACT_IN_TF2[k * len(EXACT_IN_TF2) // FRAMES], (0.02 * k, -0.01 * k, 1.2 + 0.003 * k))


def _transform_msg(record: TransformRecord):
    from geometry_msgs.msg import TransformStamped

    msg = TransformStamped()
    msg.header.frame_id, msg.child_frame_id = record.parent, record.child
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(record.stamp_ns, 10**9)
    t, q = msg.transform.translation, msg.transform.rotation
    t.x, t.y, t.z = record.pose.translation
    q.x, q.y, q.z, q.w = record.pose.rotation
    return msg


@pytest.mark.parametrize("target_frame", ["", "world"])
def test_node_publishes_the_bytes_process_bag_writes(rclpy_context, tmp_path, target_frame, request):
    from sensor_msgs.msg import CameraInfo

    write_sequence(tmp_path / "seq", 2_000_021, FRAMES, SimOptions(objects=6))
    dataset = SimDataset(tmp_path / "seq")
    frame_id = dataset.manifest["frame_id"]
    records = {}

    def transforms(k, stamp):
        records[k] = [TransformRecord(target_frame, frame_id, stamp, _camera_in_world(k))]
        return records[k]
    export_bag(dataset, tmp_path / "in", transforms=transforms if target_frame else None)
    extra = ["--target-frame", target_frame] if target_frame else []
    assert main(["process-bag", str(tmp_path / "in"), str(tmp_path / "out"), "--depth-topic", DEPTH_TOPIC,
                 "--info-topic", INFO_TOPIC, *extra]) == 0
    outputs = [spec for spec in OUTPUTS if target_frame or not spec.world_frame]
    topics = [spec.name for spec in outputs]
    every_frame = [spec.name for spec in outputs if not spec.latched]  # latched ones: when they change
    from_bag = {name: _raw_messages(tmp_path / "out", f"/vis_ros/{name}") for name in topics}
    assert len(topics) >= 7 + bool(target_frame)
    assert all(len(from_bag[name]) == FRAMES for name in every_frame), {k: len(v) for k, v in from_bag.items()}
    assert all(from_bag[name] for name in topics)
    frames = {topic: [deserialize_message(raw, kind) for raw in _raw_messages(tmp_path / "in", topic)]
              for topic, kind in ((COLOR_TOPIC, Image), (DEPTH_TOPIC, Image), (INFO_TOPIC, CameraInfo))}

    node = VisRosNode(context=rclpy_context, parameter_overrides=[Parameter("qos_reliability", value="reliable"),
                                                                  Parameter("use_depth", value=True),
                                                                  Parameter("target_frame", value=target_frame)])
    camera = rclpy.create_node("bag_camera", context=rclpy_context)
    broadcaster = request.getfixturevalue("tf2_ros").TransformBroadcaster(camera) if target_frame else None
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    executor.add_node(camera)
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    publishers = {COLOR_TOPIC: camera.create_publisher(Image, "image", qos),
                  DEPTH_TOPIC: camera.create_publisher(Image, "depth", qos),
                  INFO_TOPIC: camera.create_publisher(CameraInfo, "camera_info", qos)}
    from_node = {name: [] for name in topics}
    for spec in outputs:
        camera.create_subscription(message_class(spec), f"vis_ros/{spec.name}", from_node[spec.name].append, qos,
                                   raw=True)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        deadline = time.monotonic() + 10.0  # every output subscription matched before the first frame
        while time.monotonic() < deadline and not all(camera.count_publishers(f"/vis_ros/{n}") for n in topics):
            executor.spin_once(timeout_sec=0.01)
        for k in range(FRAMES):
            for record in records.get(k, ()):
                broadcaster.sendTransform(_transform_msg(record))
            for topic in (DEPTH_TOPIC, INFO_TOPIC, COLOR_TOPIC):  # depth first, as a player sends it
                publishers[topic].publish(frames[topic][k])
            deadline = time.monotonic() + 10.0
            while any(len(from_node[n]) < k + 1 for n in every_frame) and time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.01)
            assert all(len(from_node[n]) == k + 1 for n in every_frame), {n: len(g) for n, g in from_node.items()}
        deadline = time.monotonic() + 2.0  # the latched outputs of the last frames
        while any(len(from_node[n]) < len(from_bag[n]) for n in topics) and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.01)
        (report,), _ = node.reports()
        assert report.counts.frames_processed == FRAMES and report.counts.frames_dropped_stale == 0
        assert report.counts.frames_without_3d == 0
        assert any(deserialize_message(raw, InstanceArray).instances for raw in from_node["instances"])
        for name in topics:
            assert [bytes(raw) for raw in from_node[name]] == from_bag[name], name
        three_d = next(spec for spec in outputs if spec.name == "instances_3d")
        placed = deserialize_message(from_node["instances_3d"][-1], message_class(three_d))
        assert placed.header.frame_id == (target_frame or frame_id)
    finally:
        node.trigger_deactivate()
        node.trigger_cleanup()
        camera.destroy_node()
        node.destroy_node()
