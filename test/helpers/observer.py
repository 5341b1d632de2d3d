"""A node of the test's own, in a context of its own, for watching a node that runs in another process."""
from __future__ import annotations

import contextlib
import time


@contextlib.contextmanager
def observer_node(name: str):
    """Yield (node, executor) in a fresh rclpy context, shut down afterwards."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node(name, context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        yield node, executor
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)


def spin_until(executor, predicate, timeout_s: float) -> bool:
    """Serve callbacks until `predicate()` holds or `timeout_s` passes; return whether it holds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not predicate():
        executor.spin_once(timeout_sec=0.02)
    return predicate()
