"""vision_msgs from the node in its own process agree with its own messages, frame by frame.

A sim sequence with depth is played from this process to vis_ros_node in
another; every ~/detections and ~/detections_3d is matched by stamp to the
~/instances and ~/instances_3d of the same frame: ids, classes, scores,
boxes, poses, headers. ~/label_info arrives once, latched, naming the
model's classes.
"""
from __future__ import annotations

import pytest

rclpy = pytest.importorskip("rclpy")
vision_msgs = pytest.importorskip("vision_msgs.msg", reason="built by make test from test/interfaces")
pytestmark = [pytest.mark.slow, pytest.mark.ros]

from observer import observer_node, spin_until  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402

from vis_ros.core.config.parameters import BY_NAME  # noqa: E402
from vis_ros.core.data.stamps import stamp_to_ns  # noqa: E402
from vis_ros.core.sim.dataset import SimDataset, write_sequence  # noqa: E402
from vis_ros.core.sim.scene import SimOptions  # noqa: E402
from vis_ros.msg import Instance3DArray, InstanceArray  # noqa: E402
from vis_ros.processes.node_process import start_node_process, stop_node_process  # noqa: E402
from vis_ros.ros.player import COLOR, DEPTH, INFO, SequencePlayer  # noqa: E402

FRAMES = 15
TOPICS = {"2d": (InstanceArray, "/vis_ros/instances"), "det2d": (vision_msgs.Detection2DArray, "/vis_ros/detections"),
          "3d": (Instance3DArray, "/vis_ros/instances_3d"),
          "det3d": (vision_msgs.Detection3DArray, "/vis_ros/detections_3d")}


@pytest.fixture
def observer():
    with observer_node("vision_msgs_observer") as pair:
        yield pair


def _by_stamp(messages):
    return {stamp_to_ns(m.header.stamp): m for m in messages}


def test_detections_match_the_instances_frame_by_frame_across_processes(observer, tmp_path):
    node, executor = observer
    write_sequence(tmp_path / "seq", 2_000_005, FRAMES, SimOptions(objects=5, object_speed=0.05))
    dataset = SimDataset(tmp_path / "seq")
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    got = {key: [] for key in TOPICS}
    for key, (kind, topic) in TOPICS.items():
        node.create_subscription(kind, topic, got[key].append, reliable)
    labels = []
    latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    node.create_subscription(vision_msgs.LabelInfo, "/vis_ros/label_info", labels.append, latched)
    player = SequencePlayer(node, dataset)
    player.preload()
    proc = start_node_process({"use_depth": True, "qos_reliability": "reliable", "track_min_hits": 1},
                              tmp_path / "node.log", tmp_path,
                              remaps={"image": COLOR, "depth": DEPTH, "camera_info": INFO})
    try:
        assert player.wait_for_subscriber(60.0, spin=lambda: executor.spin_once(timeout_sec=0.05)), \
            (tmp_path / "node.log").read_text()[-2000:]
        # The node builds vision_msgs only while someone subscribes: wait until it sees us.
        assert spin_until(executor, lambda: all(node.count_publishers(t) for _, t in TOPICS.values()), 30.0)
        assert spin_until(executor, lambda: labels, 10.0), "no latched LabelInfo"
        spin_until(executor, lambda: False, 1.0)
        for i in range(FRAMES):
            expected = len(got["det2d"]) + 1
            player.publish(i)
            assert spin_until(executor, lambda e=expected: len(got["det2d"]) >= e and len(got["2d"]) >= e, 20.0), \
                {k: len(v) for k, v in got.items()}
            # 3D follows unless the frame's depth came too late to pair (the node counts it as without 3D)
            spin_until(executor, lambda e=expected: len(got["det3d"]) >= e, 2.0)
        spin_until(executor, lambda: False, 0.5)
    finally:
        stop_node_process(proc)

    assert len(got["2d"]) == len(got["det2d"]) == FRAMES
    assert len(got["3d"]) == len(got["det3d"]) >= FRAMES - 2, {k: len(v) for k, v in got.items()}
    (info,) = labels
    assert [(c.class_id, c.class_name) for c in info.class_map] == list(enumerate(dataset.classes))
    assert info.threshold == pytest.approx(max(BY_NAME["score_threshold"].default,
                                               BY_NAME["track_high_score"].default))
    # vision_msgs' convention: class_id is the class index, which the latched LabelInfo names
    name_of = {str(c.class_id): c.class_name for c in info.class_map}
    detections_2d, detections_3d = _by_stamp(got["det2d"]), _by_stamp(got["det3d"])
    seen_2d = seen_3d = 0
    for stamp, frame in _by_stamp(got["2d"]).items():
        detections = detections_2d[stamp]
        assert detections.header == frame.header
        assert [d.id for d in detections.detections] == [str(i.id) for i in frame.instances]
        for instance, detection in zip(frame.instances, detections.detections, strict=True):
            roi, box = instance.roi, detection.bbox
            assert detection.header == frame.header
            assert (box.center.position.x, box.center.position.y) == (roi.x_offset + roi.width / 2,
                                                                      roi.y_offset + roi.height / 2)
            assert (box.size_x, box.size_y, box.center.theta) == (roi.width, roi.height, 0.0)
            (hypothesis,) = detection.results
            assert name_of[hypothesis.hypothesis.class_id] == instance.class_name
            assert hypothesis.hypothesis.score == pytest.approx(instance.score)
            seen_2d += 1
    for stamp, frame in _by_stamp(got["3d"]).items():
        detections = detections_3d[stamp]
        assert detections.header == frame.header
        measured = [i for i in frame.instances if i.confidence > 0]
        assert [d.id for d in detections.detections] == [str(i.id) for i in measured]
        for instance, detection in zip(measured, detections.detections, strict=True):
            assert detection.bbox.center == instance.pose and detection.bbox.size == instance.size
            (hypothesis,) = detection.results
            assert hypothesis.pose.pose == instance.pose
            assert (name_of[hypothesis.hypothesis.class_id], hypothesis.hypothesis.score) == (
                instance.class_name, pytest.approx(instance.score))
            seen_3d += 1
    assert seen_2d >= 3 * FRAMES and seen_3d >= 3 * (FRAMES - 2), (seen_2d, seen_3d)
