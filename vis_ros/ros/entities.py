"""What one lifecycle stage of the node made, destroyed together: the node's one teardown.

As Nav2's nav2::LifecycleNode keeps its managed entities, every publisher,
subscription, timer, listener, bond and thread the node makes while
configuring (or activating) is registered here the moment it exists, with
how to destroy it. The mirror transition (cleanup, deactivate), a transition
that fails part-way, on_error and shutdown all end in `destroy_all()`: one
loop, newest first, so no class keeps a hand-written destroy() that can
drift from what its constructor made. A destroy that raises is logged with
the entity's name and the loop goes on: a teardown never stops half-way.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from rclpy.lifecycle import LifecycleNode

T = TypeVar("T")


def describe_error(exc: BaseException) -> str:
    """Return the exception for a log line: its message, with its type where the message alone is unclear.

    The project's own errors (ValueError for a bad value, OSError for a file,
    EngineError) are sentences already; anything else (an AttributeError from a
    package that changed, say) keeps its type, which is half of the message.
    """
    from vis_ros.core.data.errors import EngineError

    if isinstance(exc, (ValueError, OSError, EngineError)) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Entities:
    """The entities one stage ("configure" or "activate") made on `node`, in the order made."""

    def __init__(self, node: LifecycleNode, stage: str):
        self.node, self.stage = node, stage
        self._made: list[tuple[str, Callable[[], object]]] = []

    def names(self) -> list[str]:
        """Name what is held, oldest first (for tests and the debug log)."""
        return [name for name, _ in self._made]

    def add(self, entity: T, name: str, destroy: Callable[[], object]) -> T:
        """Register something already made, and how to destroy it; return it."""
        self._made.append((name, destroy))
        return entity

    def made_by(self, name: str, make: Callable[[], T], destroy: Callable[[T], object]) -> T:
        """Make something that creates its own entities on the node (tf2_ros' TransformListener) and register it.

        If `make` raises part-way, the publishers, subscriptions and timers it
        had already created on the node are destroyed before the error goes on.
        """
        node = self.node
        kinds = ((lambda: node.publishers, node.destroy_publisher),
                 (lambda: node.subscriptions, node.destroy_subscription), (lambda: node.timers, node.destroy_timer))
        before = [set(map(id, listed())) for listed, _ in kinds]
        try:
            made = make()
        except Exception:
            for (listed, destroy_entity), old in zip(kinds, before, strict=True):
                for entity in [e for e in listed() if id(e) not in old]:
                    destroy_entity(entity)
            raise
        return self.add(made, name, lambda: destroy(made))

    def publisher(self, msg_type, topic: str, qos):
        """Create a lifecycle publisher (active while the node is) and register it."""
        publisher = self.node.create_lifecycle_publisher(msg_type, topic, qos)
        return self.add(publisher, f"publisher {publisher.topic_name}",
                        lambda: self.node.destroy_lifecycle_publisher(publisher))

    def subscription(self, msg_type, topic: str, callback, qos, **kwargs):
        """Create a subscription and register it."""
        subscription = self.node.create_subscription(msg_type, topic, callback, qos, **kwargs)
        return self.add(subscription, f"subscription {subscription.topic_name}",
                        lambda: self.node.destroy_subscription(subscription))

    def timer(self, period_s: float, callback):
        """Create a timer and register it."""
        timer = self.node.create_timer(period_s, callback)
        return self.add(timer, f"timer every {period_s} s", lambda: self.node.destroy_timer(timer))

    def destroy_all(self, transition: str) -> None:
        """Destroy everything registered, newest first; a destroy that fails is logged and the rest go on.

        `transition` names what is destroying (deactivate, cleanup, a failed
        activate undoing itself...) in the log line of a destroy that fails.
        """
        while self._made:
            name, destroy = self._made.pop()
            try:
                destroy()
            except Exception as exc:  # one failure must not leave the rest behind
                self.node.get_logger().error(f"{transition}: destroying the {name} failed: {describe_error(exc)}")
