"""The bond Nav2's lifecycle manager forms with every node it manages.

nav2_lifecycle_manager, after activating a node, waits up to its
`bond_timeout` (4 s by default) for a bond on the node's `bond` topic with
the node's name as id, and fails the start-up of a node that never forms
one; afterwards a bond that breaks (no heartbeat for the manager's timeout)
tells it the node died. Nav2's own nodes create the bond at activate
(heartbeat every 0.1 s, timeout 4 s) and destroy it at deactivate; this node
does the same with bondpy, where it is installed. Without bondpy the node
runs as before and, when something else drives its lifecycle
(autostart:=false), says once what the manager needs instead.
"""
from __future__ import annotations

from rclpy.duration import Duration

from vis_ros.core.config.optional_packages import import_package

BOND_TOPIC = "bond"  # relative: in the node's namespace, where the manager looks
HEARTBEAT_PERIOD_S = 0.1
HEARTBEAT_TIMEOUT_S = 4.0
BREAK_WAIT_S = 0.1


class LifecycleBond:
    """The node's side of the bond while active; formed at activate, broken at deactivate."""

    def __init__(self, node):
        self.node = node
        self.bond = None
        self._said_missing = False

    def form(self, managed: bool) -> None:
        """Start the bond (heartbeat on `bond`, id = node name); `managed`: something else drives the lifecycle."""
        bondpy, why = import_package("bondpy")
        if bondpy is None:
            if managed and not self._said_missing:
                self.node.get_logger().warning(
                    f"no bond for a lifecycle manager: {why}. Without one, Nav2's lifecycle_manager fails this"
                    " node's start-up after its bond_timeout (4 s) unless it runs with bond_timeout: 0.0")
                self._said_missing = True
            return
        bond = bondpy.Bond(self.node, BOND_TOPIC, self.node.get_name())
        bond.heartbeat_period = HEARTBEAT_PERIOD_S
        bond.heartbeat_timeout = HEARTBEAT_TIMEOUT_S
        bond.start()
        self.bond = bond

    def break_bond(self) -> None:
        """Tell the manager this node stops on purpose (not a crash) and destroy the bond's entities."""
        bond, self.bond = self.bond, None
        if bond is None:
            return
        # As bondcpp's destructor (Nav2's nodes): break, then give the "active: false" messages
        # (resent every 50 ms by bondpy's thread) a moment to reach the manager. The manager's
        # acknowledgement cannot be received here (this runs inside a transition, on the executor),
        # so the wait always lasts BREAK_WAIT_S.
        bond.break_bond()
        bond.wait_until_broken(timeout=Duration(nanoseconds=int(BREAK_WAIT_S * 1e9)))
        bond.shutdown()
        # bondpy destroys its entities with their own destroy(), which leaves them listed on the node
        self.node.destroy_subscription(bond.sub)
        self.node.destroy_publisher(bond.pub)
        bond.thread.join(timeout=1.0)  # its heartbeat thread ends once it sees the shutdown
