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
from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from vis_ros.ros import parameters as P
from vis_ros.ros.transport import use_large_message_transport


class VisRosNode(LifecycleNode):
    def __init__(self, node_name: str = "vis_ros", **kwargs):
        super().__init__(node_name, **kwargs)
        for spec in P.PARAMS:
            self.declare_parameter(spec.name, spec.default, _descriptor(spec))
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.worker = None
        self._input_subscriptions = []
        self._output_publishers = {}

    # -- parameters ---------------------------------------------------------------
    def values(self) -> dict:
        return {spec.name: self.get_parameter(spec.name).value for spec in P.PARAMS}

    def _on_set_parameters(self, params) -> SetParametersResult:
        candidate = self.values()
        candidate.update({p.name: p.value for p in params})
        reason = P.validate(candidate)
        if reason is not None:
            return SetParametersResult(successful=False, reason=reason)
        self._warn_shadowed(candidate)
        if self.worker is not None:
            self.worker.apply_parameters(candidate)
        return SetParametersResult(successful=True)

    def _warn_shadowed(self, values: dict) -> None:
        for note in P.shadowed_settings(values):
            self.get_logger().warning(note)

    # -- lifecycle ----------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        from vis_ros.ros.worker import PipelineWorker

        values = self.values()
        reason = P.validate(values)
        if reason is not None:
            self.get_logger().error(f"configure failed: {reason}")
            return TransitionCallbackReturn.FAILURE
        self._warn_shadowed(values)
        try:
            self.worker = PipelineWorker(self, values)
        except Exception as exc:  # engine load errors name file and cause
            self.get_logger().error(f"configure failed: {exc}")
            return TransitionCallbackReturn.FAILURE
        self._output_publishers = self.worker.create_publishers()
        self.get_logger().info(f"configured: {self.worker.describe()}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self._subscribe(self.worker.values)
        except Exception as exc:
            self.get_logger().error(f"activate failed: {exc}")
            return TransitionCallbackReturn.FAILURE
        self.worker.start()
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._unsubscribe()
        self.worker.stop()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._unsubscribe()
        if self.worker is not None:
            self.worker.stop()
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    def _teardown(self) -> None:
        for publisher in self._output_publishers.values():
            self.destroy_publisher(publisher)
        self._output_publishers = {}
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    # -- inputs -------------------------------------------------------------------
    def _subscribe(self, v: dict) -> None:
        from rclpy.event_handler import SubscriptionEventCallbacks

        reliability = (ReliabilityPolicy.RELIABLE if v["qos_reliability"] == "reliable"
                       else ReliabilityPolicy.BEST_EFFORT)
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=v["qos_depth"], reliability=reliability)
        msg_type, topic = (CompressedImage, "image/compressed") if v["compressed_input"] else (Image, "image")
        resolved = self.worker.image_topic = self.resolve_topic_name(topic)
        events = SubscriptionEventCallbacks(incompatible_qos=lambda event: self._incompatible(resolved, event))
        self._input_subscriptions.append(self.create_subscription(
            msg_type, topic, self.worker.on_image, qos, event_callbacks=events))
        if v["use_depth"]:
            from vis_ros.ros.depth_inputs import DepthInputs

            self.worker.depth_inputs = DepthInputs(self, qos, v["sync_slop"], v["sync_queue_size"])
            self._input_subscriptions += self.worker.depth_inputs.subscriptions
            self.get_logger().info(f"depth on: {self.resolve_topic_name('depth')} +"
                                   f" {self.resolve_topic_name('camera_info')} paired by"
                                   f" {self.worker.depth_inputs.backend}, slop {v['sync_slop']} s")
        self.get_logger().info(
            f"subscribed to {resolved} ({msg_type.__name__}) with QoS {v['qos_reliability']},"
            f" depth {v['qos_depth']} (best_effort accepts any publisher; reliable needs a reliable one)")

    def _incompatible(self, topic: str, event) -> None:
        self.get_logger().warning(
            f"a publisher on {topic} offers QoS incompatible with this subscription (policy id"
            f" {event.last_policy_kind}); no images will arrive. Match qos_reliability to the camera"
            " driver (best_effort for most sensor drivers).", throttle_duration_sec=5.0)

    def _unsubscribe(self) -> None:
        for sub in self._input_subscriptions:
            self.destroy_subscription(sub)
        self._input_subscriptions = []


def _descriptor(spec: P.ParamSpec) -> ParameterDescriptor:
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
    try:  # before the first context: Fast DDS reads the profile when it starts
        use_large_message_transport()
    except FileNotFoundError as exc:
        print(f"[vis_ros] warning: {exc}; camera-sized outputs may be slow or lost", file=sys.stderr)
    rclpy.init(args=args)
    node = VisRosNode()
    try:
        if node.get_parameter("autostart").value:
            node.trigger_configure()
            node.trigger_activate()
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        if node.worker is not None:
            node.worker.stop()
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
