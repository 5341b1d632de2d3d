"""The vis_ros managed (lifecycle) node.

configure: read and validate parameters, load and warm up the engine, create
publishers. activate: subscribe, start the worker, form the lifecycle
manager's bond. deactivate: stop processing, keep the engine. cleanup: free
everything. With autostart:=true the node configures and activates itself
(unmanaged use).

What a transition makes is registered in that stage's Entities (ros/
entities.py) as it is made, and its mirror destroys them in one loop. A
transition that raises is one ERROR line naming the transition and the
exception (the traceback at debug level), everything it had made is
destroyed, and it fails, so Nav2's lifecycle manager (or a person) sees why
and the node can be given another try; rclpy alone would fail it without a
word.
"""
from __future__ import annotations

import signal
import sys
import threading
import time
import traceback

import rclpy
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.signals import SignalHandlerOptions

from vis_ros.core.config.output_selection import OutputPlan
from vis_ros.core.engine.memory import release_freed_memory
from vis_ros.core.outputs.catalogue import camera_prefix
from vis_ros.core.pipeline.reports import CameraReport, EngineReport
from vis_ros.processes.fastdds_profile import use_large_message_transport
from vis_ros.ros.bond import LifecycleBond
from vis_ros.ros.entities import Entities, describe_error
from vis_ros.ros.inputs import CameraInputs
from vis_ros.ros.node_parameters import NodeParameters
from vis_ros.ros.outputs import NodeOutputs
from vis_ros.ros.worker import PipelineWorker

SHUTDOWN_GRACE_S = 1.0
SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE


class VisRosNode(LifecycleNode):
    """The vis_ros lifecycle node: camera in, instances with persistent IDs out.

    Everything configure makes (outputs, TF listener, engine, diagnostics
    timer) is held by `configured`, everything activate makes (publishers'
    activation, subscriptions, the worker's thread, the bond) by `active`;
    see the module docstring.
    """

    def __init__(self, node_name: str = "vis_ros", **kwargs):
        super().__init__(node_name, **kwargs)
        self.worker: PipelineWorker | None = None
        self._outputs: NodeOutputs | None = None
        self._inputs: list[CameraInputs] = []
        self.configured = Entities(self, "configure")
        self.active = Entities(self, "activate")
        self.finalized = False  # set by the shutdown transition: main() then exits
        self._bond = LifecycleBond(self)
        self.parameters = NodeParameters(self, self._reconfigure)

    def _reconfigure(self, settings) -> None:
        if self.worker is not None:
            self.worker.request_settings(settings)

    @property
    def output_plan(self) -> OutputPlan | None:
        """Which optional outputs run and which asked-for ones cannot (with why), while configured."""
        return self._outputs.plan if self._outputs is not None else None

    def reports(self) -> tuple[list[CameraReport], EngineReport] | None:
        """Every camera's report and the engine's while configured (what /diagnostics publishes), else None."""
        return self.worker.reports() if self.worker is not None else None

    # -- lifecycle ----------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Validate parameters, load and warm up the engine, create the publishers."""
        return self._guarded("configure", self._configure, self.configured)

    def _configure(self) -> TransitionCallbackReturn:
        settings = self.parameters.settings()
        self.configured.add(None, "engine", self._forget_configured)
        self._outputs = NodeOutputs(self.configured, settings)
        self.worker = PipelineWorker(self, settings, self._outputs)
        self.configured.timer(settings.outputs.diagnostics_period, self._publish_diagnostics)
        self.get_logger().info(f"configured: {self.worker.describe()}")
        return SUCCESS

    def _forget_configured(self) -> None:
        self.worker = self._outputs = None

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Activate the publishers, subscribe, start the worker, form the bond."""
        return self._guarded("activate", lambda: self._activate(state), self.active)

    def _activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        active, worker, settings = self.active, self.worker, self.worker.settings
        if super().on_activate(state) != SUCCESS:  # the lifecycle publishers
            raise RuntimeError("a lifecycle publisher refused to activate")
        # registered first, undone last: what the worker still publishes while it stops goes out
        active.add(None, "publishers' activation", lambda: super(VisRosNode, self).on_deactivate(state))
        active.add(None, "collision objects", self._outputs.withdraw)  # REMOVEs, once the worker stopped
        active.add(worker, "worker thread", worker.stop)
        active.add(None, "camera inputs", self._inputs.clear)
        for camera in worker.cameras:
            self._inputs.append(CameraInputs(active, settings.inputs, worker.image_callback(camera.index),
                                             worker.input_health[camera.index], camera_prefix(camera.name),
                                             worker.depth[camera.index]))
        worker.start()
        self._outputs.announce_labels(worker.segmenter.class_names, worker.start_score())
        self._bond.form(active, settings.bond_heartbeat_period, managed=not settings.autostart)
        return SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Break the bond, unsubscribe, stop the worker, remove collision objects; the engine stays loaded."""
        self.active.destroy_all("deactivate")
        return SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Free the engine and destroy the publishers and the diagnostics timer."""
        self.configured.destroy_all("cleanup")
        release_freed_memory()  # the engine's memory goes back to the OS, not just to the allocator
        return SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Undo whatever the node holds, from any state."""
        self.active.destroy_all("shutdown")
        self.configured.destroy_all("shutdown")
        self.finalized = True
        return SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """After a transition raised past its guard: destroy everything and go back to unconfigured."""
        self.get_logger().error(f"error processing after {state.label}: destroying what the node made; it goes"
                                " back to unconfigured")
        self.active.destroy_all("error processing")
        self.configured.destroy_all("error processing")
        return SUCCESS

    def _guarded(self, transition: str, body, made: Entities) -> TransitionCallbackReturn:
        """Run a transition's body; if it raises, log one ERROR, destroy what it made, and fail it."""
        try:
            return body()
        except Exception as exc:
            self.get_logger().error(f"{transition} failed: {describe_error(exc)}")
            self.get_logger().debug(f"{transition} failed:\n{traceback.format_exc()}")
            made.destroy_all(f"{transition} (undoing)")
            return FAILURE

    def stop_processing(self) -> None:
        """Undo activate (when the process stops without a transition: a signal, the end of main)."""
        self.active.destroy_all("stop")

    def destroy_node(self) -> None:
        """Destroy what the node made, then the node and, unlike rclpy's LifecycleNode, its state machine now.

        The bond's heartbeat thread publishes through this node, so it goes
        first. The state machine holds the node's handle: left to the garbage
        collector, the node's DDS participant lives on after the context is
        shut down, and is freed at an arbitrary later moment, where Fast DDS
        3.2 was seen to deadlock against another participant's discovery (a
        test run hung).
        """
        self.active.destroy_all("destroy")
        self.configured.destroy_all("destroy")
        super().destroy_node()
        machine = getattr(self, "_state_machine", None)  # rclpy's private attribute: absent, nothing to free
        if machine is not None:
            machine.destroy_when_not_in_use()

    def _publish_diagnostics(self) -> None:
        worker = self.worker
        inputs = [i.report() for i in self._inputs] if self._inputs and worker.running else [None] * len(
            worker.cameras)
        cameras, engine = worker.reports()
        self._outputs.publish_diagnostics(worker.segmenter.backend.describe(), cameras, inputs, engine,
                                          worker.running)


def main(args=None) -> int:
    """Run the node until interrupted (the `vis_ros_node` executable).

    SIGINT and SIGTERM are the node's own, not rclpy's: rclpy's handlers shut
    the context down at once, before the node could take its collision
    objects out of the planning scene. Here the first signal ends the spin,
    the node stops (REMOVEs published and acknowledged), then ROS shuts down;
    a second signal stops at once.
    """
    try:  # before the first context: Fast DDS reads the profile when it starts
        use_large_message_transport()
    except FileNotFoundError as exc:
        print(f"[vis_ros] warning: {exc}; camera-sized outputs may be slow or lost", file=sys.stderr)
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt  # asked twice: no more waiting
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    node = VisRosNode()
    try:
        autostart = node.get_parameter("autostart").value
        if autostart and node.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            node.trigger_activate()
        executor = rclpy.executors.SingleThreadedExecutor()
        executor.add_node(node)
        while rclpy.ok() and not node.finalized and not stop.is_set():  # a lifecycle shutdown ends it too
            executor.spin_once(timeout_sec=0.2)
        if node.finalized:  # deliver the shutdown's service reply before the node's writers go
            end = time.monotonic() + SHUTDOWN_GRACE_S
            while rclpy.ok() and time.monotonic() < end:
                executor.spin_once(timeout_sec=0.05)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        node.stop_processing()
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
