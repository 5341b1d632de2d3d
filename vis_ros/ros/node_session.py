"""vis_ros nodes in their own processes, and a node in this one to play cameras to them and record them.

What the demo, the benchmarks and the end-to-end tests share: start the
node process(es) with autostart, join them from a fresh rclpy context (so a
session never mixes with another in the same process), make sim-sequence
players and output recorders, wait until the nodes have subscribed and
published, and take everything down again, node processes included, however
the session ends.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import rclpy
from rclpy.executors import SingleThreadedExecutor

from vis_ros.core.sim.dataset import SimDataset
from vis_ros.processes.fastdds_profile import use_large_message_transport
from vis_ros.processes.node_process import start_node_process, stop_node_process
from vis_ros.ros.player import COLOR, DEPTH, INFO, SequencePlayer
from vis_ros.ros.recorder import OutputRecorder


@dataclass(frozen=True)
class NodeLaunch:
    """One vis_ros_node process: its parameters, its log file, its remappings (None: image from COLOR), its env."""

    parameters: dict
    log: Path
    remaps: dict | None = None
    env: dict | None = None  # added to this process's environment


class NodeSession:
    """The node processes and this process's node, executor, players and recorders."""

    def __init__(self, processes: list, node, executor, on_spin: Callable[[], None] | None = None):
        self.processes, self.node, self._executor, self._on_spin = processes, node, executor, on_spin

    @property
    def process(self):
        """The first (usually the only) node process."""
        return self.processes[0]

    def spin(self, timeout_s: float = 0.001) -> None:
        """Serve this process's callbacks once."""
        self._executor.spin_once(timeout_sec=timeout_s)
        if self._on_spin is not None:
            self._on_spin()

    def spin_for(self, seconds: float) -> None:
        """Serve callbacks for `seconds`."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.spin(0.01)

    def spin_until(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Serve callbacks until `predicate()` holds or `timeout_s` passes; return whether it holds."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not predicate():
            self.spin(0.01)
        return predicate()

    def player(self, dataset: SimDataset | Path, topics: tuple[str, str, str] = (COLOR, DEPTH, INFO),
               with_depth: bool = True, depth_after_s: float = 0.0) -> SequencePlayer:
        """Make a player of a sim sequence on `topics` (colour, depth, camera info)."""
        dataset = dataset if isinstance(dataset, SimDataset) else SimDataset(dataset)
        return SequencePlayer(self.node, dataset, topics=topics, with_depth=with_depth, depth_after_s=depth_after_s)

    def recorder(self, namespace: str = "/vis_ros", overlay: bool = True, labels: bool = True) -> OutputRecorder:
        """Make a recorder of the outputs under `namespace` (and /diagnostics)."""
        return OutputRecorder(self.node, namespace, overlay=overlay, labels=labels)

    def connect(self, players: Sequence[SequencePlayer], outputs: Sequence[str] = (), timeout_s: float = 60.0,
                settle_s: float = 1.0) -> None:
        """Wait until the nodes subscribe to every player and publish every topic in `outputs`.

        RuntimeError naming the logs when they do not within `timeout_s`.
        """
        ready = self.spin_until(lambda: all(p.color.get_subscription_count() for p in players)
                                and all(self.node.count_publishers(t) for t in outputs), timeout_s)
        if not ready:
            dead = [p.args for p in self.processes if p.poll() is not None]
            raise RuntimeError(f"the node did not subscribe and publish within {timeout_s:.0f} s"
                               f"{'; exited: ' + str(dead) if dead else ''}")
        self.spin_for(settle_s)  # the recorders' subscriptions match too


@contextlib.contextmanager
def node_session(launches: NodeLaunch | Sequence[NodeLaunch], cwd: Path, name: str = "vis_ros_session",
                 on_spin: Callable[[], None] | None = None) -> Iterator[NodeSession]:
    """Yield a NodeSession with the node processes started; everything is taken down afterwards."""
    launches = [launches] if isinstance(launches, NodeLaunch) else list(launches)
    processes = []
    context = rclpy.context.Context()
    try:
        for launch in launches:
            processes.append(start_node_process(launch.parameters, launch.log, cwd, remaps=launch.remaps,
                                                env=launch.env))
        use_large_message_transport()  # players publish VGA images, as a camera driver would
        rclpy.init(context=context)
        node = rclpy.create_node(name, context=context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        try:
            yield NodeSession(processes, node, executor, on_spin)
        finally:
            node.destroy_node()
    finally:
        for process in processes:
            stop_node_process(process)
        if context.ok():
            rclpy.shutdown(context=context)
