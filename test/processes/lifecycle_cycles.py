"""Child process: cycle the node through configure/activate/deactivate/cleanup N times.

Prints one JSON line per cycle, after cleanup: the process's RSS (MB) and the
number of live rclpy entity objects by type (gc), so a test can see memory or
entities that pile up. Usage: lifecycle_cycles.py CYCLES [param:=value ...]
"""
from __future__ import annotations

import gc
import json
import os
import sys
from collections import Counter


def entity_counts() -> dict:
    """Count live rclpy publishers, subscriptions, timers and event handlers."""
    from rclpy.event_handler import EventHandler
    from rclpy.publisher import Publisher
    from rclpy.subscription import Subscription
    from rclpy.timer import Timer

    kinds = {"publishers": Publisher, "subscriptions": Subscription, "timers": Timer, "event_handlers": EventHandler}
    gc.collect()
    counts = Counter()
    for obj in gc.get_objects():
        for name, kind in kinds.items():
            if isinstance(obj, kind):
                counts[name] += 1
    return {name: counts[name] for name in kinds}


def main() -> int:
    """Run the cycles and print a line per cycle."""
    import rclpy
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    from vis_ros.bench.soak_bench import process_rss_mb
    from vis_ros.ros.node import VisRosNode

    cycles = int(sys.argv[1])
    overrides = []
    for arg in sys.argv[2:]:
        name, value = arg.split(":=")
        overrides.append(Parameter(name, value={"true": True, "false": False}.get(value, value)))
    rclpy.init()
    node = VisRosNode(parameter_overrides=overrides)
    ok = TransitionCallbackReturn.SUCCESS
    for cycle in range(cycles):
        results = [node.trigger_configure(), node.trigger_activate(), node.trigger_deactivate(),
                   node.trigger_cleanup()]
        if any(r != ok for r in results):
            print(json.dumps({"cycle": cycle, "error": [str(r) for r in results]}), flush=True)
            return 1
        print(json.dumps({"cycle": cycle, "rss_mb": process_rss_mb(os.getpid()), **entity_counts()}), flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
