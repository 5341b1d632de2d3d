"""The vis_ros managed (lifecycle) node.

configure: read and validate parameters, load and warm up the engine, create
publishers. activate: subscribe and start the worker. deactivate: stop
processing, keep the engine. cleanup: free everything. A failure in
configure or activate fails the transition with a message saying why, so
Nav2's lifecycle manager (or a person) sees it. With autostart:=true the node
configures and activates itself (unmanaged use).
"""
from __future__ import annotations

import sys

import rclpy
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from vis_ros.core.parameters import PARAMS, ParamSpec, shadowed_settings
from vis_ros.core.settings import NodeSettings
from vis_ros.processes.fastdds_profile import use_large_message_transport
from vis_ros.ros.inputs import NodeInputs
from vis_ros.ros.outputs import NodeOutputs
from vis_ros.ros.worker import PipelineWorker


class VisRosNode(LifecycleNode):
    """The vis_ros lifecycle node: camera in, instances with persistent IDs out.

    Every ROS entity below is created by this node in one transition and destroyed in
    its mirror: outputs, worker and diagnostics timer at configure / cleanup, inputs at
    activate / deactivate. A transition that fails undoes what it had made.
    """

    def __init__(self, node_name: str = "vis_ros", **kwargs):
        super().__init__(node_name, **kwargs)
        for spec in PARAMS:
            self.declare_parameter(spec.name, spec.default, _descriptor(spec))
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.worker: PipelineWorker | None = None
        self._outputs: NodeOutputs | None = None
        self._inputs: NodeInputs | None = None
        self._diagnostics_timer = None

    # -- parameters ---------------------------------------------------------------
    def values(self) -> dict:
        """Every parameter's current value by name: the one place settings are read from ROS."""
        return {spec.name: self.get_parameter(spec.name).value for spec in PARAMS}

    def _on_set_parameters(self, params) -> SetParametersResult:
        candidate = self.values()
        candidate.update({p.name: p.value for p in params})
        try:
            settings = NodeSettings.from_values(candidate)
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        self._warn_shadowed(candidate)
        if self.worker is not None:
            self.worker.reconfigure(settings)
        return SetParametersResult(successful=True)

    def _warn_shadowed(self, values: dict) -> None:
        for note in shadowed_settings(values):
            self.get_logger().warning(note)

    # -- lifecycle ----------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Validate parameters, load and warm up the engine, create the publishers."""
        values = self.values()
        try:
            settings = NodeSettings.from_values(values)
        except ValueError as exc:
            self.get_logger().error(f"configure failed: {exc}")
            return TransitionCallbackReturn.FAILURE
        self._warn_shadowed(values)
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
        try:
            self._inputs = NodeInputs(self, self.worker.settings.inputs, self.worker.on_image)
        except Exception as exc:
            self.get_logger().error(f"activate failed: {exc}")
            return TransitionCallbackReturn.FAILURE
        self.worker.start(self._inputs.depth)
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Unsubscribe and stop the worker; the engine stays loaded."""
        self.stop_processing()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Free the engine and destroy the publishers and the diagnostics timer."""
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Undo whatever the node holds, from any state."""
        self.stop_processing()
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    def stop_processing(self) -> None:
        """Mirror of on_activate: unsubscribe, then let the worker finish its frame."""
        if self._inputs is not None:
            self._inputs.destroy()
            self._inputs = None
        if self.worker is not None:
            self.worker.stop()

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
        snapshot = worker.snapshot()
        if self._inputs is not None and worker.running:
            self._inputs.check_flow(snapshot["counters"]["frames_received"])
        self._outputs.publish_diagnostics(worker.segmenter.backend.describe(), snapshot, worker.last_error,
                                          worker.running)


def _descriptor(spec: ParamSpec) -> ParameterDescriptor:
    text = spec.description + (f" (one of {', '.join(spec.choices)})" if spec.choices else "")
    d = ParameterDescriptor(description=text, read_only=spec.read_only)
    if spec.low is None:
        return d
    if isinstance(spec.default, int):
        d.integer_range = [IntegerRange(from_value=int(spec.low), to_value=int(spec.high), step=1)]
    else:
        d.floating_point_range = [FloatingPointRange(from_value=float(spec.low),
                                                     to_value=float(spec.high), step=0.0)]
    return d


def main(args=None) -> int:
    """Run the node until interrupted (the `vis_ros_node` executable)."""
    try:  # before the first context: Fast DDS reads the profile when it starts
        use_large_message_transport()
    except FileNotFoundError as exc:
        print(f"[vis_ros] warning: {exc}; camera-sized outputs may be slow or lost", file=sys.stderr)
    rclpy.init(args=args)
    node = VisRosNode()
    try:
        autostart = node.get_parameter("autostart").value
        if autostart and node.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            node.trigger_activate()
        rclpy.spin(node)
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
