"""End-to-end: the real node in its own process, a simulated camera on real topics."""
from __future__ import annotations

import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytestmark = [pytest.mark.slow, pytest.mark.ros]

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from vis_ros.core.sim.dataset import SimDataset, write_sequence  # noqa: E402
from vis_ros.core.sim.scene import SimOptions  # noqa: E402
from vis_ros.evaluation.tracking_metrics import score_playback, summarize  # noqa: E402
from vis_ros.processes.node_process import start_node_process, stop_node_process  # noqa: E402
from vis_ros.ros.player import SequencePlayer  # noqa: E402
from vis_ros.ros.recorder import OutputRecorder  # noqa: E402


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    out = tmp_path_factory.mktemp("seq")
    write_sequence(out, 2_000_003, 60, SimOptions(objects=6, object_speed=0.15))
    return SimDataset(out)


@pytest.fixture
def graph(tmp_path):
    """Start a node process plus an in-process player/recorder node."""
    proc = start_node_process({"qos_reliability": "reliable", "diagnostics_period": 0.5},
                              tmp_path / "node.log", tmp_path)
    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("e2e_test", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spin = lambda timeout_s=0.001: executor.spin_once(timeout_sec=timeout_s)  # noqa: E731
    try:
        yield node, spin, proc, tmp_path / "node.log"
    finally:
        stop_node_process(proc)
        node.destroy_node()
        rclpy.shutdown(context=context)


def _connect(node, spin, player):
    assert player.wait_for_subscriber(60.0, spin), "node never subscribed"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and node.count_publishers("/vis_ros/instances") == 0:
        spin()
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        spin()


def _drain(spin, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        spin()


def test_played_sequence_gives_stable_ids_labels_and_diagnostics(graph, sequence):
    node, spin, proc, log = graph
    player, recorder = SequencePlayer(node, sequence), OutputRecorder(node)
    _connect(node, spin, player)
    player.play(15.0, spin)
    bad = Image(height=480, width=640, encoding="yuv422", step=1280, data=bytes(1280 * 480))
    player.color.publish(bad)
    _drain(spin, 1.0)
    after_bad = player.publish(0)  # the node still works after a bad frame
    deadline = time.monotonic() + 15.0  # newest message: never dropped as stale
    while time.monotonic() < deadline and after_bad not in {f.stamp_ns for _, f in recorder.frames}:
        spin()
    _drain(spin, 1.0)  # one more diagnostics period
    assert proc.poll() is None, log.read_text()
    assert len(recorder.frames) >= 40
    assert after_bad in {f.stamp_ns for _, f in recorder.frames}

    rec = score_playback([f for _, f in recorder.frames], player.stamp_to_index, sequence,
                         skip_stamps={after_bad})
    metrics = summarize([rec])
    assert metrics["IDF1"] > 0.8 and metrics["IDSW"] <= 2, metrics

    checked = 0
    for _, frame in recorder.frames:
        labels_msg = recorder.labels.get(frame.stamp_ns)
        if labels_msg is None or not frame.instances:
            continue
        labels = np.frombuffer(labels_msg.data, np.uint16).reshape(480, 640)
        assert set(np.unique(labels)) - {0} <= {i.track_id for i in frame.instances}
        for inst in frame.instances:
            mask_px = int(inst.mask.sum())
            assert np.count_nonzero(labels == inst.track_id) >= 0.7 * mask_px - 1
        checked += 1
    assert checked >= 20

    counters = recorder.last_counters()
    assert counters, "no /diagnostics from the node"
    assert int(counters["frames_invalid"]) == 1  # only the yuv422 frame
    assert len(recorder.overlays) >= 20 and recorder.overlays[0][1].shape == (480, 640, 3)
    assert (int(counters["frames_processed"]) + int(counters["frames_invalid"])
            + int(counters["frames_dropped_stale"])) <= int(counters["frames_received"])
    assert "yuv422" in counters["last_error"]


def test_overload_drops_stale_frames_and_counts_them(graph, sequence):
    node, spin, proc, _ = graph
    player, recorder = SequencePlayer(node, sequence), OutputRecorder(node, overlay=False)
    _connect(node, spin, player)
    player.play(240.0, spin)  # far faster than engine + overhead (~8 ms) on this CPU
    _drain(spin, 3.0)
    counters = recorder.last_counters()
    received, processed = int(counters["frames_received"]), int(counters["frames_processed"])
    dropped = int(counters["frames_dropped_stale"])
    assert dropped > 0
    assert processed + dropped == received  # every frame processed or counted
    # The node's counters are the contract. Delivery of its outputs to this
    # test process is not: at 240 Hz this process is itself overloaded, and the
    # output topics keep the last 5 messages.
    assert 0 < len(recorder.frames) <= processed
