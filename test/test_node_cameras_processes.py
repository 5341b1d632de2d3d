"""Two cameras in their own processes, the node in another, over real topics.

Each camera gets its own outputs with its own stamps and frame ids; ids are
unique across the cameras; one camera sending invalid frames, changing its
image size and going silent neither stops nor slows the other, and its own
counters say what happened. Under overload (a 200 Hz camera beside a 5 Hz
one, one image per engine call), both cameras are served.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")
pytestmark = [pytest.mark.slow, pytest.mark.ros]

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from observer import observer_node, spin_until  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402

from vis_ros.core.data.stamps import stamp_to_ns  # noqa: E402
from vis_ros.msg import InstanceArray  # noqa: E402
from vis_ros.processes.node_process import start_node_process, stop_node_process  # noqa: E402

CAMERA = Path(__file__).parent / "processes" / "sim_camera.py"
RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


@pytest.fixture
def observer():
    with observer_node("cameras_observer") as pair:
        yield pair


def _camera(topic, frame_id, seed, rate, plan, cwd):
    return subprocess.Popen([sys.executable, "-P", str(CAMERA), topic, frame_id, str(seed), str(rate), plan],
                            cwd=cwd, stdout=subprocess.PIPE, text=True)


def _statuses(array):
    return {s.name: {kv.key: kv.value for kv in s.values} for s in array.status}


def _run(observer, tmp_path, parameters, cameras, timeout_s=90.0):
    """Start the node and the camera processes; return what each camera sent and the node published."""
    node, executor = observer
    got = {name: [] for name in cameras}
    for name in cameras:
        node.create_subscription(InstanceArray, f"/vis_ros/{name}/instances", got[name].append, RELIABLE)
    diagnostics = []
    node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    log = tmp_path / "node.log"
    proc = start_node_process({"cameras": list(cameras), "qos_reliability": "reliable", "track_min_hits": 1,
                               "diagnostics_period": 0.5, **parameters}, log, tmp_path, remaps={})
    children = []
    try:
        assert spin_until(executor, lambda: diagnostics, 60.0), log.read_text()[-2000:]
        children = [_camera(f"/{name}/image", name, seed, rate, plan, tmp_path)
                    for name, (seed, rate, plan) in cameras.items()]
        deadline = time.monotonic() + timeout_s
        while any(c.poll() is None for c in children) and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.02)
        sent = {name: json.loads(c.communicate(timeout=30)[0].splitlines()[-1])
                for name, c in zip(cameras, children, strict=True)}
        count = len(diagnostics)
        spin_until(executor, lambda: len(diagnostics) > count + 2, 5.0)  # counters after the last frames
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
        stop_node_process(proc)
    return sent, got, _statuses(diagnostics[-1]), log.read_text()


@pytest.mark.realtime  # every frame of two 15 Hz cameras served: beside another test's node it was not
def test_one_camera_failing_neither_stops_nor_slows_the_other(observer, tmp_path):
    sent, got, status, log = _run(observer, tmp_path, {}, {
        "front": (6_000_001, 15.0, "60:good"),
        "left": (6_000_002, 15.0, "10:good,5:invalid,8:half")})
    front, left = status["vis_ros: front"], status["vis_ros: left"]
    # Every frame is processed or, on a machine busy with other work, at most 2 per camera dropped
    # (a CI run beside other jobs lost one of left's); what is published is what was processed.
    for name, camera, frames in (("front", front, sent["front"]["good"]),
                                 ("left", left, sent["left"]["good"] + sent["left"]["half"])):
        missed = int(camera["frames_dropped_stale"]) + int(camera["frames_lost_in_transport"])
        assert int(camera["frames_processed"]) + missed == len(frames) and missed <= 2, (name, camera)
        published = [stamp_to_ns(m.header.stamp) for m in got[name]]
        assert len(published) == int(camera["frames_processed"]) and set(published) <= set(frames), name
        assert published == sorted(published), name
    assert {m.header.frame_id for m in got["front"]} == {"front"}
    assert front["frames_invalid"] == "0" and front["pipeline_resets"] == "0"
    assert float(front["latency_end_to_end_p95_ms"]) < 250.0, front
    # left: its counters say what happened to it
    assert left["frames_invalid"] == "5" and left["pipeline_resets"] == "1"
    half = set(sent["left"]["half"])
    assert all((m.width, m.height) == ((320, 240) if stamp_to_ns(m.header.stamp) in half else (640, 480))
               for m in got["left"])
    assert "frame rejected on left" in log and "yuv422_yuy2" in left["last_error"]
    assert "image size changed on left from 640x480 to 320x240" in log
    # front kept going after left went silent
    assert sum(stamp > sent["left"]["half"][-1] for stamp in sent["front"]["good"]) >= 10
    ids = {name: {i.id for m in got[name] for i in m.instances} for name in got}
    assert ids["front"] and ids["left"] and not ids["front"] & ids["left"]


def test_under_overload_a_5_hz_camera_beside_a_200_hz_one_is_served(observer, tmp_path):
    # 200 Hz: over three times what one engine thread serves here (~57 Hz, 2 cores), so
    # the overload does not hang on the machine's speed (at 60 Hz a CI machine kept up).
    sent, got, status, _ = _run(observer, tmp_path, {"max_batch": 1, "precision": "fp32", "threads": 1}, {
        "fast": (6_000_003, 200.0, "900:good"), "slow": (6_000_004, 5.0, "20:good")})
    fast, slow = status["vis_ros: fast"], status["vis_ros: slow"]
    assert int(fast["frames_dropped_stale"]) > 0, fast  # the node is overloaded
    assert int(slow["frames_processed"]) >= 19 and slow["frames_dropped_stale"] in ("0", "1"), slow
    assert len(got["slow"]) == int(slow["frames_processed"])
    assert int(fast["frames_processed"]) > 40
