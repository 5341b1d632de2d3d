"""The vis_ros managed (lifecycle) node.

configure: read and validate parameters, load and warm up the engine, create
publishers. activate: subscribe and start the worker. deactivate: stop
processing, keep the engine. cleanup: free everything. A failure in
configure or activate fails the transition with a message saying why, so
Nav2's lifecycle manager (or a person) sees it. With autostart:=true the node
configures and activates itself (unmanaged use).
"""
from __future__ import annotations

import signal
import sys
import threading
import time

import rclpy
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.signals import SignalHandlerOptions

from vis_ros.core.config.settings import NodeSettings
from vis_ros.core.engine.memory import release_freed_memory
from vis_ros.core.outputs.selection import OutputPlan
from vis_ros.core.pipeline.reports import CameraReport, EngineReport
from vis_ros.processes.fastdds_profile import use_large_message_transport
from vis_ros.ros.bond import LifecycleBond
from vis_ros.ros.inputs import CameraInputs
from vis_ros.ros.node_parameters import NodeParameters
from vis_ros.ros.outputs import NodeOutputs, camera_prefix
from vis_ros.ros.worker import PipelineWorker

SHUTDOWN_GRACE_S = 1.0


class VisRosNode(LifecycleNode):
    """The vis_ros lifecycle node: camera in, instances with persistent IDs out.

    Every ROS entity below is created by this node in one transition and destroyed in
    its mirror: outputs, worker and diagnostics timer at configure / cleanup, inputs and
    the lifecycle manager's bond (ros/bond.py) at activate / deactivate. A transition
    that fails undoes what it had made.
    """

    def __init__(self, node_name: str = "vis_ros", **kwargs):
        super().__init__(node_name, **kwargs)
        self.worker: PipelineWorker | None = None
        self._outputs: NodeOutputs | None = None
        self._inputs: list[CameraInputs] | None = None
        self._diagnostics_timer = None
        self.finalized = False  # set by the shutdown transition: main() then exits
        self._bond = LifecycleBond(self)
        self.parameters = NodeParameters(self, self._reconfigure)

    def _reconfigure(self, settings: NodeSettings) -> None:
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
        try:
            settings = self.parameters.settings()
        except ValueError as exc:
            self.get_logger().error(f"configure failed: {exc}")
            return TransitionCallbackReturn.FAILURE
        self._outputs = NodeOutputs(self, settings)
        try:
            self.worker = PipelineWorker(self, settings, self._outputs)
        except Exception as exc:  # engine load errors name file and cause
            self.get_logger().error(f"configure failed: {exc}")
            self._teardown()
            return TransitionCallbackReturn.FAILURE
        self._diagnostics_timer = self.create_timer(settings.outputs.diagnostics_period,
                                                    self._publish_diagnostics)
        self.get_logger().info(f"configured: {self.worker.describe()}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Subscribe and start the worker; on failure nothing stays subscribed."""
        self._inputs = []
        try:
            for camera in self.worker.cameras:
                self._inputs.append(CameraInputs(self, self.worker.settings.inputs,
                                                 self.worker.image_callback(camera.index),
                                                 self.worker.input_health[camera.index],
                                                 camera_prefix(camera.name), self.worker.gate.wake))
        except Exception as exc:
            self.get_logger().error(f"activate failed: {exc}")
            self._destroy_inputs()
            return TransitionCallbackReturn.FAILURE
        self.worker.start([inputs.depth.pairing if inputs.depth is not None else None for inputs in self._inputs])
        result = super().on_activate(state)  # activates the publishers
        self._outputs.announce_labels(self.worker.segmenter.class_names, self.worker.start_score())
        self._bond.form(managed=not self.get_parameter("autostart").value)
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Unsubscribe and stop the worker; the engine stays loaded."""
        self.stop_processing()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Free the engine and destroy the publishers and the diagnostics timer."""
        self._teardown()
        release_freed_memory()  # the engine's memory goes back to the OS, not just to the allocator
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Undo whatever the node holds, from any state."""
        self.stop_processing()
        self._teardown()
        self.finalized = True
        return TransitionCallbackReturn.SUCCESS

    def stop_processing(self) -> None:
        """Mirror of on_activate: unsubscribe, let the worker finish its frame, remove collision objects."""
        self._destroy_inputs()
        if self.worker is not None:
            self.worker.stop()
        if self._outputs is not None:
            self._outputs.withdraw()
        self._bond.break_bond()

    def destroy_node(self) -> None:
        """Destroy the node and, unlike rclpy's LifecycleNode, its lifecycle state machine now.

        The state machine holds the node's handle: left to the garbage collector,
        the node's DDS participant lives on after the context is shut down, and
        is freed at an arbitrary later moment, where Fast DDS 3.2 was seen to
        deadlock against another participant's discovery (a test run hung).
        """
        self._bond.break_bond()  # its heartbeat thread publishes through this node
        super().destroy_node()
        machine = getattr(self, "_state_machine", None)  # rclpy's private attribute: absent, nothing to free
        if machine is not None:
            machine.destroy_when_not_in_use()

    def _destroy_inputs(self) -> None:
        for inputs in self._inputs or []:
            inputs.destroy()
        self._inputs = None

    def _teardown(self) -> None:
        """Mirror of on_configure (also of a configure that failed part-way)."""
        if self._diagnostics_timer is not None:
            self.destroy_timer(self._diagnostics_timer)
            self._diagnostics_timer = None
        self.worker = None
        if self._outputs is not None:
            self._outputs.destroy()
            self._outputs = None

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
