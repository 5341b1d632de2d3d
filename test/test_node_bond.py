"""The bond Nav2's lifecycle manager waits for, with the manager's side played by the test.

nav2_lifecycle_manager creates `Bond("bond", <node name>)` on its own node in
the managed node's namespace after activating it, waits up to bond_timeout
(4 s by default) for it to form and fails the start-up otherwise; it treats a
bond that breaks as the node having died. bondpy is the real package where
installed, else its contract stand-in (helpers/bondpy_contract.py), for the
manager's side and, in the process test, for the node's.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

rclpy = pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

from observer import spin_until  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from stand_in_env import stand_in_env  # noqa: E402

from vis_ros.processes.node_process import start_node_process, stop_node_process  # noqa: E402
from vis_ros.ros.node import VisRosNode  # noqa: E402

NAV2_BOND_TIMEOUT_S = 4.0


class ManagerSide:
    """The lifecycle manager's end of one bond, as nav2_lifecycle_manager makes it."""

    def __init__(self, bondpy, node, node_name):
        self.node = node
        self.formed, self.broken = threading.Event(), threading.Event()
        self.bond = bondpy.Bond(node, "bond", node_name, on_broken=self.broken.set, on_formed=self.formed.set)
        self.bond.heartbeat_timeout = NAV2_BOND_TIMEOUT_S
        self.bond.heartbeat_period = 0.1
        self.bond.start()

    def close(self) -> None:
        """End this bond, as the manager does before it bonds again (bondpy leaves its entities listed)."""
        self.bond.shutdown()
        self.node.destroy_subscription(self.bond.sub)
        self.node.destroy_publisher(self.bond.pub)


@pytest.fixture
def graph(rclpy_context, bondpy):
    """Yield (make a vis_ros node driven from outside, the manager's node, one executor) in namespace robot1."""
    from bond.msg import Status

    manager = rclpy.create_node("lifecycle_manager_perception", namespace="robot1", context=rclpy_context)
    manager.heard = []
    manager.create_subscription(Status, "bond", manager.heard.append, 50)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(manager)
    nodes = []

    def make_node(**params):
        overrides = [Parameter(k, value=v) for k, v in {"autostart": False, **params}.items()]
        nodes.append(VisRosNode(context=rclpy_context, namespace="robot1", parameter_overrides=overrides))
        executor.add_node(nodes[-1])
        return nodes[-1]

    yield make_node, manager, executor
    for node in nodes:
        node.destroy_node()
    manager.destroy_node()


@pytest.fixture
def managed(graph):
    """Yield (vis_ros node driven from outside, the manager's node, one executor for both)."""
    make_node, manager, executor = graph
    yield make_node(), manager, executor


def _transition(executor, trigger) -> TransitionCallbackReturn:
    """Run a transition as a manager's service call does: while the graph keeps spinning (here, this thread)."""
    result = []
    caller = threading.Thread(target=lambda: result.append(trigger()))
    caller.start()
    assert spin_until(executor, lambda: result, 10.0)
    caller.join()
    return result[0]


def _bonded(node) -> bool:
    """Whether the node itself publishes on its bond topic (what the graph says, not what the node lists)."""
    topics = dict(node.get_publisher_names_and_types_by_node(node.get_name(), node.get_namespace()))
    return "/robot1/bond" in topics


def test_a_managed_node_forms_the_bond_at_activate_and_breaks_it_at_deactivate(managed, bondpy):
    """Without it, Nav2's manager failed the activation after bond_timeout (4 s)."""
    node, manager, executor = managed
    assert _transition(executor, node.trigger_configure) == TransitionCallbackReturn.SUCCESS
    assert not _bonded(node)  # no bond while inactive
    for cycle in range(2):  # the manager bonds again at each start-up
        assert _transition(executor, node.trigger_activate) == TransitionCallbackReturn.SUCCESS
        side = ManagerSide(bondpy, manager, "vis_ros")
        assert spin_until(executor, side.formed.is_set, NAV2_BOND_TIMEOUT_S), f"cycle {cycle}: no bond formed"
        assert _bonded(node)
        manager.heard.clear()
        spin_until(executor, lambda: False, 1.0)
        beats = [m for m in manager.heard if m.instance_id != side.bond.instance_id]
        assert len(beats) >= 5, len(beats)  # Nav2's nodes beat every 0.1 s
        assert {(m.id, m.active) for m in beats} == {("vis_ros", True)}
        assert beats[-1].heartbeat_period == pytest.approx(0.1)
        assert beats[-1].heartbeat_timeout == pytest.approx(NAV2_BOND_TIMEOUT_S)
        assert not side.broken.is_set()

        assert _transition(executor, node.trigger_deactivate) == TransitionCallbackReturn.SUCCESS
        # broken at once by the node's "active: false", not by a heartbeat timeout seconds later
        assert spin_until(executor, side.broken.is_set, 1.0), f"cycle {cycle}: bond not broken at deactivate"
        assert not _bonded(node)  # the node destroyed its end
        side.close()
    assert _transition(executor, node.trigger_cleanup) == TransitionCallbackReturn.SUCCESS


def test_shutdown_from_active_breaks_the_bond(managed, bondpy):
    node, manager, executor = managed
    assert _transition(executor, node.trigger_configure) == TransitionCallbackReturn.SUCCESS
    assert _transition(executor, node.trigger_activate) == TransitionCallbackReturn.SUCCESS
    side = ManagerSide(bondpy, manager, "vis_ros")
    assert spin_until(executor, side.formed.is_set, NAV2_BOND_TIMEOUT_S)
    assert _transition(executor, node.trigger_shutdown) == TransitionCallbackReturn.SUCCESS
    assert spin_until(executor, side.broken.is_set, 1.0)
    side.close()


@pytest.mark.parametrize("autostart", [False, True])
def test_without_bondpy_the_node_runs_and_says_once_what_the_manager_needs(rclpy_context, monkeypatch, capfd,
                                                                          autostart):
    for module in ("bondpy", "bondpy.bondpy"):  # importing either raises ImportError, even once imported
        monkeypatch.setitem(sys.modules, module, None)
    node = VisRosNode(context=rclpy_context, parameter_overrides=[Parameter("autostart", value=autostart)])
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        err = capfd.readouterr().err
        (line,) = [line for line in err.splitlines() if "no bond for a lifecycle manager" in line]
        # managed from outside (autostart false) it matters: a warning; started by itself, information
        assert ("[WARN]" in line) == (not autostart) and ("[INFO]" in line) == autostart, line
        assert "bondpy is not importable" in line and "install ros-$ROS_DISTRO-bondpy" in line
        assert "bond_timeout: 0.0" in line and "bond_heartbeat_period: 0.0" in line
        assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert "no bond" not in capfd.readouterr().err  # said once
    finally:
        node.destroy_node()


def test_bond_heartbeat_period_zero_means_no_bond_and_nothing_said(graph, capfd):
    """Nav2's parameter: 0 turns the bond off (for a manager run with bond_timeout: 0.0)."""
    make_node, manager, executor = graph
    node = make_node(bond_heartbeat_period=0.0)
    assert _transition(executor, node.trigger_configure) == TransitionCallbackReturn.SUCCESS
    assert _transition(executor, node.trigger_activate) == TransitionCallbackReturn.SUCCESS
    spin_until(executor, lambda: False, 0.5)
    assert not _bonded(node)
    assert not [m for m in manager.heard if m.id == "vis_ros"]
    assert "bond" not in capfd.readouterr().err


def test_the_bond_heartbeat_period_is_the_parameter(graph):
    make_node, manager, executor = graph
    node = make_node(bond_heartbeat_period=0.25)
    assert _transition(executor, node.trigger_configure) == TransitionCallbackReturn.SUCCESS
    assert _transition(executor, node.trigger_activate) == TransitionCallbackReturn.SUCCESS
    assert spin_until(executor, lambda: any(m.id == "vis_ros" for m in manager.heard), NAV2_BOND_TIMEOUT_S)
    beat = [m for m in manager.heard if m.id == "vis_ros"][-1]
    assert beat.heartbeat_period == pytest.approx(0.25) and beat.heartbeat_timeout == pytest.approx(4.0)
    assert _transition(executor, node.trigger_deactivate) == TransitionCallbackReturn.SUCCESS


@pytest.mark.slow
def test_a_node_started_with_autostart_bonds_with_the_manager_and_its_death_is_seen(rclpy_context, bondpy, tmp_path):
    """With the real bondpy installed the node never activated (bondpy.Bond is in bondpy.bondpy), saying nothing."""
    from lifecycle_msgs.srv import GetState

    process = start_node_process({}, tmp_path / "node.log", tmp_path,
                                 env=stand_in_env(tmp_path / "stand_ins", ("bondpy",)))
    manager = rclpy.create_node("lifecycle_manager", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(manager)
    try:
        side = ManagerSide(bondpy, manager, "vis_ros")
        formed = spin_until(executor, side.formed.is_set, 60.0)
        assert formed, (tmp_path / "node.log").read_text()
        get_state = manager.create_client(GetState, "/vis_ros/get_state")
        assert get_state.wait_for_service(timeout_sec=5.0)
        future = get_state.call_async(GetState.Request())
        assert spin_until(executor, future.done, 5.0)
        assert future.result().current_state.label == "active"
        assert spin_until(executor, lambda: False, 1.0) is False and not side.broken.is_set()  # it holds
        os.killpg(process.pid, signal.SIGKILL)  # a crash: no "active: false"
        killed = time.monotonic()
        assert spin_until(executor, side.broken.is_set, NAV2_BOND_TIMEOUT_S + 2.0)
        assert time.monotonic() - killed <= NAV2_BOND_TIMEOUT_S + 1.0
        side.close()
    finally:
        stop_node_process(process)
        manager.destroy_node()
