"""The bond Nav2's lifecycle manager waits for, with the manager's side played by the test.

nav2_lifecycle_manager creates `Bond("bond", <node name>)` on its own node in
the managed node's namespace after activating it, waits up to bond_timeout
(4 s by default) for it to form and fails the start-up otherwise; it treats a
bond that breaks as the node having died. bondpy is the real package where
installed, else its contract stand-in (helpers/bondpy_contract.py).
"""
from __future__ import annotations

import sys
import threading

import pytest

rclpy = pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

from observer import spin_until  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

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
def managed(rclpy_context, bondpy):
    """Yield (vis_ros node driven from outside, the manager's node, one executor for both) in namespace robot1."""
    from bond.msg import Status

    node = VisRosNode(context=rclpy_context, namespace="robot1",
                      parameter_overrides=[Parameter("autostart", value=False)])
    manager = rclpy.create_node("lifecycle_manager_perception", namespace="robot1", context=rclpy_context)
    manager.heard = []
    manager.create_subscription(Status, "bond", manager.heard.append, 50)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    executor.add_node(manager)
    yield node, manager, executor
    node.destroy_node()
    manager.destroy_node()


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
def test_without_bondpy_the_node_runs_and_a_managed_one_says_what_the_manager_needs(rclpy_context, monkeypatch,
                                                                                    capfd, autostart):
    monkeypatch.setitem(sys.modules, "bondpy", None)  # import bondpy raises ImportError
    node = VisRosNode(context=rclpy_context, parameter_overrides=[Parameter("autostart", value=autostart)])
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        err = capfd.readouterr().err
        if autostart:  # nothing manages it: nothing to say
            assert "bond" not in err
        else:
            assert "no bond for a lifecycle manager: bondpy is not importable" in err
            assert "install ros-$ROS_DISTRO-bondpy" in err and "bond_timeout: 0.0" in err
        assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert "no bond" not in capfd.readouterr().err  # said once
    finally:
        node.destroy_node()
