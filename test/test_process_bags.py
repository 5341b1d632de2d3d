"""vis-ros process-bags: many bags on a local Ray (2 CPUs), the same outputs as process-bag, resumable.

Five small sim bags (two cameras each, one with depth; one bag truncated):
four complete outputs equal to sequential process-bag, topic by topic and
byte for byte; the truncated one reported with its reason; a Parquet index
whose rows are the InstanceArray messages' instances; a rerun that skips the
four; a worker killed in the middle of a bag, and the bag's output still
complete and the same.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")
pytestmark = pytest.mark.slow

from rosbags.rosbag2 import Reader  # noqa: E402

from vis_ros.cli import main  # noqa: E402
from vis_ros.core.sim.dataset import SimDataset, write_sequence  # noqa: E402
from vis_ros.core.sim.scene import SimOptions  # noqa: E402
from vis_ros.io.bag_export import export_cameras_bag  # noqa: E402
from vis_ros.io.fleet import FLEET_INDEX, FLEET_SUMMARY, FleetJob, FleetRun, find_bags, process_bags  # noqa: E402
from vis_ros.io.output_messages import output_typestore  # noqa: E402

FRAMES = 6


def _make_bags(root, count, frames=FRAMES):
    """`count` bags, each a front camera with depth and a left camera without, 320x240."""
    topics = None
    for k in range(count):
        datasets = {}
        for name, offset in (("front", 0), ("left", 1)):
            seq = root / "sequences" / f"bag{k}_{name}"
            write_sequence(seq, 7_200_000 + 10 * k + offset, frames,
                           SimOptions(width=320, height=240, objects=3, object_speed=0.05))
            datasets[name] = SimDataset(seq)
        topics = export_cameras_bag(datasets, root / "bags" / f"bag{k}", with_depth=frozenset({"front"}),
                                    depth_after_ns=5_000_000)
    return topics


def _topic_args(topics):
    args = []
    for camera in topics.values():
        args += ["--image-topic", camera.image, "--depth-topic", camera.depth, "--info-topic", camera.info]
    return args


def _per_topic(bag):
    with Reader(bag) as reader:
        return {c.topic: [bytes(raw) for _, _, raw in reader.messages(connections=[c])] for c in reader.connections}


def _truncate(bag):
    for path in bag.iterdir():
        if path.suffix == ".mcap":
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    topics = _make_bags(root, 5)
    _truncate(root / "bags" / "bag4")
    sequential = root / "sequential"
    sequential.mkdir()
    for k in range(4):
        assert main(["process-bag", str(root / "bags" / f"bag{k}"), str(sequential / f"bag{k}")]
                    + _topic_args(topics)) == 0
    return root, topics


@pytest.fixture(scope="module")
def long_bag(tmp_path_factory):
    """One 100-frame bag (a worker is caught in the middle of it), read by the tests, never written."""
    root = tmp_path_factory.mktemp("long")
    return root / "bags" / "bag0", _make_bags(root, 1, frames=100)


def test_four_bags_complete_as_process_bag_writes_them_and_the_truncated_one_is_named(fleet):
    root, topics = fleet
    out = root / "out"
    assert main(["process-bags", str(root / "bags"), "--out", str(out), "--workers", "2"]
                + _topic_args(topics)) == 1  # one bag failed
    summary = json.loads((out / FLEET_SUMMARY).read_text())
    assert summary["processed"] == 4 and summary["skipped"] == []
    (failed,) = summary["failed"]
    assert failed["bag"].endswith("bag4") and "corrupt or truncated" in failed["reason"]
    assert not (out / "bag4").exists() and not list(out.glob(".*partial*"))
    for k in range(4):
        assert _per_topic(out / f"bag{k}") == _per_topic(root / "sequential" / f"bag{k}"), k
    # The index: one row per published instance, as ~/instances has them.
    table = pq.read_table(out / FLEET_INDEX).to_pylist()
    store = output_typestore()
    expected = []
    for k in range(4):
        with Reader(out / f"bag{k}") as reader:
            for c in reader.connections:
                if c.topic.endswith("/instances"):
                    camera = c.topic.split("/")[2]
                    for _, _, raw in reader.messages(connections=[c]):
                        msg = store.deserialize_cdr(raw, c.msgtype)
                        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
                        expected += [(f"bag{k}", camera, stamp, i.id, i.class_name, round(i.score, 9), i.roi.x_offset,
                                      i.roi.y_offset, i.roi.width, i.roi.height) for i in msg.instances]
    rows = [(r["bag"], r["camera"], r["stamp_ns"], r["track_id"], r["class_name"], round(r["score"], 9), r["box_x"],
             r["box_y"], r["box_width"], r["box_height"]) for r in table]
    assert sorted(rows) == sorted(expected) and len(rows) == summary["index_rows"] > 0
    fused = [r for r in table if r["camera"] == "front" and r["distance"] == r["distance"]]  # not NaN
    assert fused and all(0.1 < r["distance"] < 10.0 for r in fused)
    assert all(r["distance"] != r["distance"] for r in table if r["camera"] == "left")  # no depth: NaN
    # A rerun skips the complete ones and tries the broken one again.
    assert main(["process-bags", str(root / "bags"), "--out", str(out)] + _topic_args(topics)) == 1
    again = json.loads((out / FLEET_SUMMARY).read_text())
    assert len(again["skipped"]) == 4 and again["processed"] == 0 and len(again["failed"]) == 1
    assert again["index_rows"] == summary["index_rows"]


def test_a_worker_killed_in_the_middle_of_a_bag_leaves_a_complete_identical_output(tmp_path, long_bag):
    bag, topics = long_bag
    assert main(["process-bag", str(bag), str(tmp_path / "sequential")] + _topic_args(topics)) == 0
    job = FleetJob({}, tuple(t.image for t in topics.values()), tuple(t.depth for t in topics.values()),
                   tuple(t.info for t in topics.values()))
    out, pids, frames_seen = tmp_path / "out", [], []
    result = {}

    def started(workers):  # before any bag is given to them (a busy actor answers only when done)
        pids.extend(ray.get([w.pid.remote() for w in workers]))

    def run():
        result["summary"] = process_bags(find_bags([bag]), out, job, FleetRun(workers=1),
                                         progress=frames_seen.append, started=started)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 120.0
    while time.monotonic() < deadline and sum(frames_seen) < 10:  # the worker is in the middle of the bag
        time.sleep(0.02)
    assert sum(frames_seen) >= 10, "the worker never got going"
    assert not (out / "bag0").exists(), "the bag was already done: nothing to interrupt"
    os.kill(pids[0], signal.SIGKILL)
    thread.join(timeout=180.0)
    assert not thread.is_alive()
    summary = result["summary"]
    assert summary.processed == 1 and summary.failed == ()
    assert _per_topic(out / "bag0") == _per_topic(tmp_path / "sequential")


@pytest.mark.parametrize("signum, code, word", [(signal.SIGINT, 130, "interrupted"),
                                                (signal.SIGTERM, 143, "terminated")], ids=["SIGINT", "SIGTERM"])
def test_a_stopped_run_stops_cleanly_and_leaves_no_partial_output(tmp_path, long_bag, signum, code, word):
    import subprocess
    import sys

    bag, topics = long_bag
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-P", "-m", "vis_ros.cli", "process-bags", str(bag.parent),
                             "--out", str(out)] + _topic_args(topics), cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120.0
    while time.monotonic() < deadline and not list(out.glob(".bag0.partial")) and proc.poll() is None:
        time.sleep(0.05)  # a worker is writing the bag
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err[-2000:]
    assert err.strip().splitlines()[-1] == f"vis-ros process-bags: {word}"
    assert not list(out.glob(".*partial*")) and not (out / "bag0").exists()


def _own_namespaces() -> bool:
    """Whether this machine lets a test run commands in network and process namespaces of their own."""
    import shutil
    import subprocess

    if not (shutil.which("unshare") and shutil.which("ip")):
        return False
    return subprocess.run(["unshare", "-n", "-p", "-f", "--mount-proc", "true"], capture_output=True).returncode == 0


CLUSTER_SCRIPT = """
set -u
ip link set lo up
mkdir -p /tmp/ray && mount -t tmpfs tmpfs /tmp/ray  # Ray's session files: this namespace's own
ray get-auth-token --generate > /dev/null 2>&1  # a token in ~/.ray, as any local ray.init() leaves one
ray start --head --port=6391 --num-cpus=1 --include-dashboard=false --disable-usage-stats > ray_head.log 2>&1
RAY_AUTH_MODE=token ray start --address=127.0.0.1:6391 --num-cpus=1 --disable-usage-stats > ray_node.log 2>&1
"$PYTHON" -P -m vis_ros.cli process-bags bags/bag0 bags/bag1 --out out --workers 2 --ray-address 127.0.0.1:6391 \
    {topics} > joined.log 2>&1
echo "joined: $?"
HOME="$PWD/elsewhere" "$PYTHON" -P -m vis_ros.cli process-bags bags/bag0 --out out_elsewhere \
    --ray-address 127.0.0.1:6391 {topics} > elsewhere.log 2>&1
echo "elsewhere: $?"
"""


@pytest.mark.skipif(not _own_namespaces(), reason="needs unshare (network and PID namespaces) to keep Ray on loopback")
def test_process_bags_joins_a_cluster_started_with_ray_start(fleet, tmp_path):
    """With Ray 2.60's token authentication, --ray-address ended in "Failed to connect to Ray cluster".

    A real two-node cluster (`ray start --head`, then a second node), in a
    network namespace with only loopback and a PID namespace that ends every
    Ray process with the test. The command does what `ray start` does: token
    mode where a token is found. Without a token it says what to set.
    """
    import shlex
    import shutil
    import subprocess
    import sys

    root, topics = fleet
    for k in (0, 1):
        shutil.copytree(root / "bags" / f"bag{k}", tmp_path / "bags" / f"bag{k}")
    (tmp_path / "home").mkdir()
    (tmp_path / "elsewhere").mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
    env.update(HOME=str(tmp_path / "home"), PYTHON=sys.executable)
    script = CLUSTER_SCRIPT.format(topics=shlex.join(_topic_args(topics)))
    run = subprocess.run(["unshare", "-n", "-p", "-f", "--mount-proc", "bash", "-c", script], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=300)
    logs = {name: (tmp_path / name).read_text()[-1500:] for name in ("ray_head.log", "joined.log", "elsewhere.log")
            if (tmp_path / name).exists()}
    assert "joined: 0" in run.stdout, (run.stdout, run.stderr, logs)
    summary = json.loads((tmp_path / "out" / FLEET_SUMMARY).read_text())
    assert summary["processed"] == 2 and summary["failed"] == []
    for k in (0, 1):
        assert _per_topic(tmp_path / "out" / f"bag{k}") == _per_topic(root / "sequential" / f"bag{k}"), k
    assert "elsewhere: 2" in run.stdout, (run.stdout, logs)
    (line,) = [line for line in logs["elsewhere.log"].splitlines() if line.startswith("vis-ros process-bags:")]
    assert "cannot join the Ray cluster at 127.0.0.1:6391" in line and "RAY_AUTH_MODE=token" in line, line
