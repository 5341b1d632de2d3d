"""A node in its own process with a player and a recorder in this one, ready to play.

What the node benchmark and the soak share: start the node (reliable QoS,
fast diagnostics), join it from a fresh rclpy context with a sim-sequence
player and an output recorder, wait until the node has subscribed, and take
everything down again afterwards.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class NodeSession:
    """The pieces a benchmark drives: the node's process, a spin function, player, recorder."""

    process: object
    spin: object
    player: object
    recorder: object


@contextlib.contextmanager
def node_session(seq_dir: Path, work: Path, log_name: str = "node.log", parameters: dict | None = None):
    """Yield a NodeSession whose node has subscribed to the player (RuntimeError if it never does)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from vis_ros.core.sim.dataset import SimDataset
    from vis_ros.processes.fastdds_profile import use_large_message_transport
    from vis_ros.processes.node_process import start_node_process, stop_node_process
    from vis_ros.ros.player import SequencePlayer
    from vis_ros.ros.recorder import OutputRecorder

    proc = start_node_process({"qos_reliability": "reliable", "diagnostics_period": 0.5, **(parameters or {})},
                              work / log_name, work)
    use_large_message_transport()  # the player publishes VGA images, as a camera driver would
    context = rclpy.context.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("vis_ros_bench", context=context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)

        def spin(timeout_s: float = 0.001) -> None:
            executor.spin_once(timeout_sec=timeout_s)

        player = SequencePlayer(node, SimDataset(seq_dir))
        recorder = OutputRecorder(node, overlay=False, labels=False)
        if not player.wait_for_subscriber(60.0, spin):
            raise RuntimeError(f"node did not subscribe; see {work / log_name}")
        spin_for(spin, 1.5)
        yield NodeSession(proc, spin, player, recorder)
    finally:
        stop_node_process(proc)
        rclpy.shutdown(context=context)


def spin_for(spin, seconds: float) -> None:
    """Serve callbacks for `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        spin(0.01)
