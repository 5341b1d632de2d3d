"""The bond Nav2's lifecycle manager forms with every node it manages.

nav2_lifecycle_manager, after activating a node, waits up to its
`bond_timeout` (4 s by default) for a bond on the node's `bond` topic with
the node's name as id, and fails the start-up of a node that never forms
one; afterwards a bond that breaks (no heartbeat for the manager's timeout)
tells it the node died. Nav2's own nodes configure theirs with the read-only
parameter `bond_heartbeat_period` (seconds; 0 turns the bond off), create it
at the end of activate and destroy it at deactivate; this node does the same
with bondpy, where it is installed (package.xml declares it). Without
bondpy the node runs as before and says once what the manager then needs.

bondpy's package is empty: `Bond` lives in its module `bondpy.bondpy`
(`from bondpy import bondpy`), which is what this imports.
"""
from __future__ import annotations

from rclpy.duration import Duration

from vis_ros.core.config.optional_packages import import_package
from vis_ros.ros.entities import Entities

BOND_TOPIC = "bond"  # relative: in the node's namespace, where the manager looks
HEARTBEAT_TIMEOUT_S = 4.0  # Nav2's nodes' (and its manager's default bond_timeout)
BREAK_WAIT_S = 0.1


class LifecycleBond:
    """The node's side of the bond while active: formed at the end of activate, broken with the activate stage."""

    def __init__(self, node):
        self.node = node
        self._said_missing = False

    def form(self, entities: Entities, heartbeat_period_s: float, managed: bool) -> None:
        """Start the bond (heartbeat on `bond`, id = node name) and register its end with `entities`.

        `heartbeat_period_s` 0 means no bond (bond_heartbeat_period, as in Nav2);
        `managed`: something else drives the lifecycle, so a missing bondpy matters.
        """
        if heartbeat_period_s <= 0.0:
            return
        bondpy, why = import_package("bondpy")
        if bondpy is None:
            if not self._said_missing:
                say = self.node.get_logger().warning if managed else self.node.get_logger().info
                say(f"no bond for a lifecycle manager: {why}. Without one, Nav2's lifecycle_manager fails this"
                    " node's start-up after its bond_timeout (4 s) unless it runs with bond_timeout: 0.0;"
                    " bond_heartbeat_period: 0.0 says no bond is wanted")
                self._said_missing = True
            return
        bond = bondpy.Bond(self.node, BOND_TOPIC, self.node.get_name())
        entities.add(bond, f"bond on {self.node.resolve_topic_name(BOND_TOPIC)}", lambda: self._break(bond))
        bond.heartbeat_period = heartbeat_period_s
        bond.heartbeat_timeout = HEARTBEAT_TIMEOUT_S
        bond.start()

    def _break(self, bond) -> None:
        """Tell the manager this node stops on purpose (not a crash) and destroy the bond's entities."""
        # As bondcpp's destructor (Nav2's nodes): break, then give the "active: false" messages
        # (resent every 50 ms by bondpy's thread) a moment to reach the manager. The manager's
        # acknowledgement cannot be received here (this runs inside a transition, on the executor),
        # so the wait always lasts BREAK_WAIT_S.
        if not hasattr(bond, "sub"):  # start() failed before it subscribed: stop what it had set going
            bond.connect_timer.cancel()
            bond.is_shutdown = True  # bondpy's __del__ would otherwise shut down a bond that never started
            self.node.destroy_publisher(bond.pub)
            return
        bond.break_bond()
        bond.wait_until_broken(timeout=Duration(nanoseconds=int(BREAK_WAIT_S * 1e9)))
        bond.shutdown()
        # bondpy destroys its entities with their own destroy(), which leaves them listed on the node
        self.node.destroy_subscription(bond.sub)
        self.node.destroy_publisher(bond.pub)
        bond.thread.join(timeout=1.0)  # its heartbeat thread ends once it sees the shutdown
