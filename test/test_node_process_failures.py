"""Failure behaviour that needs the node in its own process.

Transport loss from a camera on default middleware settings, memory and
entities over lifecycle cycles, a bad model with autostart, and a lifecycle
shutdown that ends the process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")
pytestmark = [pytest.mark.slow, pytest.mark.ros]

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState  # noqa: E402
from observer import observer_node, spin_until  # noqa: E402

from vis_ros.core.streaming.input_health import LossSource  # noqa: E402
from vis_ros.processes.fastdds_profile import PROFILE_VARIABLES  # noqa: E402
from vis_ros.processes.node_process import start_node_process, stop_node_process  # noqa: E402

PROCESSES = Path(__file__).parent / "processes"


@pytest.fixture
def observer():
    with observer_node("failure_observer") as pair:
        yield pair


def _pipeline_values(array):
    status = array.status[0]
    return status, {kv.key: kv.value for kv in status.values}


def test_a_default_settings_camera_losing_frames_is_counted_and_named_within_10_s(observer, tmp_path):
    node, executor = observer
    log = tmp_path / "node.log"
    proc = start_node_process({"diagnostics_period": 0.5}, log, tmp_path, remaps={"image": "/lossy/image"})
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARIABLES}
    camera = None
    try:
        diagnostics = []
        node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
        assert spin_until(executor, lambda: diagnostics, 60.0), "the node never published diagnostics"
        camera = subprocess.Popen([sys.executable, "-P", str(PROCESSES / "default_camera.py"), "12",
                                   "/lossy/image"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
        started = time.monotonic()

        def lost_and_warned():
            if not diagnostics:
                return False
            status, values = _pipeline_values(diagnostics[-1])
            return int(values.get("frames_lost_in_transport", "0")) > 0 and status.level == DiagnosticStatus.WARN

        assert spin_until(executor, lost_and_warned, 10.0), _pipeline_values(diagnostics[-1])
        assert time.monotonic() - started <= 10.5
        status, values = _pipeline_values(diagnostics[-1])
        assert status.message.startswith("losing ") and "in transport on /lossy/image" in status.message
        # Sequence numbers join the witness once any frame gets through.
        assert values["transport_loss_counted_from"] in (LossSource.EVENTS, LossSource.SEQUENCE_AND_EVENTS)
        text = log.read_text()
        assert "losing" in text and "fastdds_large_messages.xml" in text and "net.core.rmem_max" in text
    finally:
        if camera is not None:
            camera.wait(30)
        stop_node_process(proc)


def test_twenty_lifecycle_cycles_with_depth_keep_memory_and_entities_flat(tmp_path):
    out = subprocess.run([sys.executable, "-P", str(PROCESSES / "lifecycle_cycles.py"), "20", "use_depth:=true",
                          "target_frame:="], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    cycles = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(cycles) == 20
    settled = cycles[4:]
    rss = [c["rss_mb"] for c in settled]
    assert max(rss) - min(rss) <= 8.0, rss
    for kind in ("publishers", "subscriptions", "timers", "event_handlers"):
        assert len({c[kind] for c in settled}) == 1, (kind, [c[kind] for c in cycles])


def test_autostart_with_a_bad_model_fails_configure_and_does_not_try_to_activate(tmp_path):
    log = tmp_path / "node.log"
    proc = start_node_process({"model": str(tmp_path / "missing.onnx")}, log, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "configure failed" not in log.read_text():
            time.sleep(0.2)
        time.sleep(1.0)
        text = log.read_text()
        assert "configure failed: model file" in text and "does not exist" in text
        assert "Unable to start transition" not in text and "activate" not in text.split("configure failed")[1]
    finally:
        stop_node_process(proc)


def test_a_lifecycle_shutdown_ends_the_node_process(observer, tmp_path):
    node, executor = observer
    proc = start_node_process({}, tmp_path / "node.log", tmp_path)
    try:
        client = node.create_client(ChangeState, "/vis_ros/change_state")
        assert spin_until(executor, client.service_is_ready, 60.0), "no lifecycle service"
        request = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_ACTIVE_SHUTDOWN))
        # A request sent before the server has matched this client is dropped (volatile
        # service QoS), so ask again until the node answers or exits.
        for _ in range(6):
            future = client.call_async(request)
            if spin_until(executor, lambda f=future: f.done() or proc.poll() is not None, 5.0):
                break
        assert future.done() and future.result().success or proc.poll() is not None
        proc.wait(timeout=15)
        assert proc.returncode == 0
    finally:
        stop_node_process(proc)


def test_a_short_soak_accounts_for_every_frame_with_flat_memory():
    from vis_ros.bench.soak_bench import bench_soak

    # 300 Hz: the node serves ~110 Hz here (2 cores), so the drop path runs on a faster machine too
    report = bench_soak(frames=600, rate_hz=300.0, samples=6)
    assert report["all_accounted"], report["counters"]
    assert report["counters"]["frames_dropped_stale"] > 0
    # 600 frames are too few for a slope: the node's RSS takes one step of 8-18 MB somewhere
    # between frames 100 and 500 on a loaded machine, then stays flat (with qos_depth 1 as with 5,
    # so not the subscription histories; allocator arenas most likely, not measured further).
    # Bound the growth above that step: keeping 50 kB a frame would exceed it; slower leaks are
    # for `vis-ros bench --soak 10000` (0.016 MB per 1,000 frames).
    samples = report["rss_mb"]["samples"]
    assert samples[-1][1] - samples[0][1] <= 24.0, samples
