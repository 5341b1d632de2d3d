"""ROS-style stamps (sec + nanosec) <-> integer nanoseconds, the core's time unit.

Anything with `sec` and `nanosec` attributes converts: builtin_interfaces/Time
from rclpy, and the message classes rosbags deserializes from a bag, so the
node, the recorder and process-bag convert stamps the same way.
"""
from __future__ import annotations

NS_PER_S = 1_000_000_000


def stamp_to_ns(stamp) -> int:
    """Convert a sec + nanosec stamp to integer nanoseconds."""
    return stamp.sec * NS_PER_S + stamp.nanosec


def ns_to_sec_nanosec(stamp_ns: int) -> tuple[int, int]:
    """Split integer nanoseconds into (sec, nanosec), as the stamp fields take them."""
    return divmod(stamp_ns, NS_PER_S)
