"""Every ROS entity the node creates in a transition is gone after its mirror.

configure / cleanup and activate / deactivate cycled 20 times in one process:
publishers, subscriptions, timers, waitables (event handlers), lifecycle-
managed entities and threads return to the same counts every cycle. A
failure at any step of configure or activate (each entity creation in turn,
the engine, the worker's start, the label announcement, the bond) is one
ERROR line and leaves nothing behind, so a retry subscribes once.
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


class FailAt:
    """Make the node's n-th entity creation raise (n counted from `arm`), as a refusing middleware would."""

    CREATE = ("create_publisher", "create_lifecycle_publisher", "create_subscription", "create_timer")

    def __init__(self, node, monkeypatch):
        self.calls, self.fail_at = 0, None
        for name in self.CREATE:
            real = getattr(node, name)
            monkeypatch.setattr(node, name, self._wrap(real))

    def _wrap(self, real):
        def create(*args, **kwargs):
            self.calls += 1
            if self.calls == self.fail_at:
                raise RuntimeError(f"entity {self.calls} refused (injected)")
            return real(*args, **kwargs)
        return create

    def arm(self, n=None) -> None:
        self.calls, self.fail_at = 0, n


def _errors(capfd) -> list[str]:
    return [line for line in capfd.readouterr().err.splitlines() if "[ERROR]" in line]


@pytest.mark.parametrize("params", [{}, {"use_depth": True, "target_frame": "base_link"}],
                         ids=["2d", "depth_and_tf"])
def test_a_failure_at_any_step_of_configure_or_activate_is_one_error_and_leaves_nothing(
        rclpy_context, tf2_ros, bondpy, monkeypatch, capfd, params):
    """A failed transition said nothing (rclpy's default) and left publishers, timers or the worker behind."""
    from vis_ros.ros import worker as worker_module
    from vis_ros.ros.bond import LifecycleBond
    from vis_ros.ros.outputs import NodeOutputs
    from vis_ros.ros.worker import PipelineWorker

    overrides = [Parameter(k, value=v) for k, v in {"autostart": False, **params}.items()]
    node = VisRosNode(context=rclpy_context, parameter_overrides=overrides)
    built = worker_module.build_segmenter(node.parameters.settings())
    monkeypatch.setattr(worker_module, "build_segmenter", lambda settings: built)  # one engine load, not forty
    fail = FailAt(node, monkeypatch)
    unconfigured = _entities(node)
    fail.arm()
    assert node.trigger_configure() == SUCCESS
    configure_steps, configured = fail.calls, _entities(node)
    fail.arm()
    assert node.trigger_activate() == SUCCESS
    activate_steps = fail.calls
    assert node.trigger_deactivate() == SUCCESS and node.trigger_cleanup() == SUCCESS
    assert configure_steps >= 5 and activate_steps >= 2, (configure_steps, activate_steps)
    capfd.readouterr()

    def injected(what):
        def fail_here(*args, **kwargs):
            raise RuntimeError(f"{what} (injected)")
        return fail_here

    # configure: every entity it creates, then the engine
    for n in range(1, configure_steps + 1):
        fail.arm(n)
        assert node.trigger_configure() == FAILURE, n
        assert _settled(node, unconfigured) == unconfigured, n
        (error,) = _errors(capfd)
        assert f"configure failed: RuntimeError: entity {n} refused (injected)" in error
    fail.arm()
    monkeypatch.setattr(worker_module, "build_segmenter", injected("engine refused"))
    assert node.trigger_configure() == FAILURE
    assert _settled(node, unconfigured) == unconfigured
    (error,) = _errors(capfd)
    assert "configure failed: RuntimeError: engine refused (injected)" in error
    monkeypatch.setattr(worker_module, "build_segmenter", lambda settings: built)

    # activate: every entity it creates (the bond's among them), then the steps that create none
    assert node.trigger_configure() == SUCCESS
    for n in range(1, activate_steps + 1):
        fail.arm(n)
        assert node.trigger_activate() == FAILURE, n
        assert _settled(node, configured) == configured, n
        assert not node.worker.running
        (error,) = _errors(capfd)
        assert f"activate failed: RuntimeError: entity {n} refused (injected)" in error
    fail.arm()
    for owner, method in ((PipelineWorker, "start"), (NodeOutputs, "announce_labels"), (LifecycleBond, "form")):
        with monkeypatch.context() as patch:
            patch.setattr(owner, method, injected(f"{method} failed"))
            assert node.trigger_activate() == FAILURE, method
        assert _settled(node, configured) == configured, method
        (error,) = _errors(capfd)
        assert f"activate failed: RuntimeError: {method} failed (injected)" in error
    assert node.trigger_activate() == SUCCESS  # and after all that, it runs, subscribed once
    assert _subscribed(node, "/image") == 1
    assert not _errors(capfd)
    node.trigger_deactivate()
    node.trigger_cleanup()
    node.destroy_node()


def test_a_failed_destroy_is_named_and_the_rest_are_still_destroyed(rclpy_context, monkeypatch, capfd):
    node = VisRosNode(context=rclpy_context)
    unconfigured_publishers = len(list(node.publishers))  # rclpy's own
    assert node.trigger_configure() == SUCCESS
    held = node.configured.names()
    assert any(name.startswith("publisher /vis_ros/instances") for name in held), held

    def refuse(publisher):
        raise RuntimeError("middleware refused (injected)")

    real = node.destroy_lifecycle_publisher
    calls = []
    monkeypatch.setattr(node, "destroy_lifecycle_publisher",
                        lambda p: refuse(p) if not calls and not calls.append(p) else real(p))
    assert node.trigger_cleanup() == SUCCESS
    (error,) = _errors(capfd)
    assert "cleanup: destroying the publisher" in error and "middleware refused (injected)" in error
    assert len(list(node.publishers)) == unconfigured_publishers + 1  # only the one that refused is left
    assert node.configured.names() == []
    node.destroy_node()


def test_an_exception_past_the_guards_goes_through_on_error_back_to_unconfigured(rclpy_context, capfd):
    """An exception escaping a transition is ERROR to rclpy; on_error destroys everything."""
    class BrokenDeactivate(VisRosNode):
        def on_deactivate(self, state):
            raise RuntimeError("deactivate broke (injected)")

    node = BrokenDeactivate(context=rclpy_context)
    before = _entities(node)
    assert node.trigger_configure() == SUCCESS
    assert node.trigger_activate() == SUCCESS
    node.trigger_deactivate()
    assert node._state_machine.current_state[1] == "unconfigured"
    assert _settled(node, before) == before
    assert "error processing after" in capfd.readouterr().err
    assert node.trigger_configure() == SUCCESS  # it can be started again
    node.trigger_cleanup()
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
