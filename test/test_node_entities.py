"""Every ROS entity the node creates in a transition is gone after its mirror.

configure / cleanup and activate / deactivate cycled 20 times in one process:
publishers, subscriptions, timers, waitables (event handlers), lifecycle-
managed entities and threads return to the same counts every cycle. A failed
activate leaves nothing behind, so a retry subscribes once.
"""
from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

from vis_ros.ros.node import VisRosNode  # noqa: E402

SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE


def _entities(node) -> dict:
    return {"publishers": len(list(node.publishers)), "subscriptions": len(list(node.subscriptions)),
            "timers": len(list(node.timers)), "waitables": len(list(node.waitables)),
            "managed": len(node._managed_entities), "threads": threading.active_count()}


def _settled(node, expected: dict, timeout_s: float = 2.0) -> dict:
    """Return the node's counts once they equal `expected`, or as they are after `timeout_s`.

    Threads that were told to end (bondpy's cancelled timers) leave a moment later.
    """
    deadline = time.monotonic() + timeout_s
    while (now := _entities(node)) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return now


def _subscribed(node, topic: str) -> int:
    return sum(1 for s in node.subscriptions if s.topic_name == topic)


@pytest.mark.parametrize("params", [{}, {"use_depth": True, "target_frame": "base_link"}],
                         ids=["2d", "depth_and_tf"])
def test_twenty_lifecycle_cycles_leave_entity_and_thread_counts_flat(rclpy_context, tf2_ros, bondpy, params):
    # autostart false: driven from outside, as by a lifecycle manager, so the bond comes and goes too
    overrides = [Parameter(k, value=v) for k, v in {"autostart": False, **params}.items()]
    node = VisRosNode(context=rclpy_context, parameter_overrides=overrides)
    unconfigured = _entities(node)
    configured = active = None
    for cycle in range(20):
        assert node.trigger_configure() == SUCCESS, cycle
        now = _entities(node)
        configured = configured or now
        assert now == configured, (cycle, "configured")
        assert node.trigger_activate() == SUCCESS, cycle
        now = _entities(node)
        active = active or now
        assert now == active, (cycle, "active")
        assert _subscribed(node, "/image") == 1
        assert node.trigger_deactivate() == SUCCESS, cycle
        assert _settled(node, configured) == configured, (cycle, "deactivated")
        assert node.trigger_cleanup() == SUCCESS, cycle
        assert _settled(node, unconfigured) == unconfigured, (cycle, "cleaned up")
    # The cycle is not vacuous: configure made publishers, activate subscriptions, threads and the bond.
    assert configured["publishers"] > unconfigured["publishers"]
    assert active["subscriptions"] > configured["subscriptions"] and active["threads"] > configured["threads"]
    assert active["publishers"] == configured["publishers"] + 1  # the bond's heartbeat
    if params:
        assert _subscribed(node, "/tf") == 0  # the listener went with cleanup
    node.destroy_node()


def test_a_failed_activate_undoes_its_subscriptions_and_a_retry_subscribes_once(rclpy_context, monkeypatch,
                                                                                capfd):
    from vis_ros.ros import depth_inputs

    node = VisRosNode(context=rclpy_context, parameter_overrides=[Parameter("use_depth", value=True)])
    assert node.trigger_configure() == SUCCESS
    configured = _entities(node)
    real = depth_inputs.DepthInputs

    def broken(*args, **kwargs):
        raise RuntimeError("depth subscription refused (injected)")

    monkeypatch.setattr(depth_inputs, "DepthInputs", broken)
    assert node.trigger_activate() == FAILURE
    assert "activate failed: depth subscription refused (injected)" in capfd.readouterr().err
    assert _entities(node) == configured
    assert _subscribed(node, "/image") == 0
    monkeypatch.setattr(depth_inputs, "DepthInputs", real)
    assert node.trigger_activate() == SUCCESS
    assert _subscribed(node, "/image") == 1 and _subscribed(node, "/depth") == 1
    node.trigger_deactivate()
    node.trigger_cleanup()
    node.destroy_node()


def test_a_failed_configure_leaves_no_publishers(rclpy_context, tmp_path):
    node = VisRosNode(context=rclpy_context,
                      parameter_overrides=[Parameter("model", value=str(tmp_path / "missing.onnx"))])
    before = _entities(node)
    assert node.trigger_configure() == FAILURE
    assert _entities(node) == before
    node.destroy_node()


def _dds_threads() -> int:
    """Threads Fast DDS runs per participant (named dds.* on Linux)."""
    return sum((t / "comm").read_text().startswith("dds.") for t in Path("/proc/self/task").iterdir())


@pytest.mark.skipif(rclpy.utilities.get_rmw_implementation_identifier() != "rmw_fastrtps_cpp"
                    or not Path("/proc/self/task").is_dir(),
                    reason="counts Fast DDS's named threads under Linux /proc (the wheels' default middleware)")
def test_destroy_node_frees_the_dds_participant_without_the_garbage_collector():
    # rclpy's LifecycleNode keeps its state machine, which holds the node handle, until
    # the cyclic garbage collector frees it; a participant freed then hung a test run.
    gc.collect()
    gc.disable()
    try:
        before = _dds_threads()
        context = rclpy.context.Context()
        rclpy.init(context=context)
        node = VisRosNode(context=context)
        running = _dds_threads()
        node.destroy_node()
        rclpy.shutdown(context=context)
        after = _dds_threads()
    finally:
        gc.enable()
    assert running > before, (before, running)  # the participant's threads are counted
    assert after <= before + 1, (before, running, after)  # one shared logging thread may stay
