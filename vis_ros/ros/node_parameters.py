"""The node's parameters: declared from the one table, read into typed settings.

Every parameter is declared with dynamic typing, so rclpy accepts any type
and the node's own check (vis_ros.core.config.parameters) decides and words each
refusal: it names the parameter and its type, and takes an integer for a
double (`score_threshold:=1`). A run-time set is refused unless the whole
request still builds valid settings. The set callback only validates; the
accepted settings are handed on in the post-set callback (rclpy's place for
side effects), so a set never waits for anything the node is doing. A
setting that another one shadows is warned about once per change, on the
values the request left.
"""
from __future__ import annotations

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.exceptions import InvalidParameterValueException

from vis_ros.core.config.parameters import BY_NAME, PARAMS, ParamSpec, shadowed_settings
from vis_ros.core.config.settings import NodeSettings


class NodeParameters:
    """Declares the table on `node`; `on_change(settings)` gets every accepted run-time set."""

    def __init__(self, node, on_change):
        self.node, self._on_change = node, on_change
        self._warned: frozenset[str] = frozenset()
        self._refused_at_start: list[str] = []
        for spec in PARAMS:
            self._declare(spec)
        node.add_on_set_parameters_callback(self._check)
        node.add_post_set_parameters_callback(self._applied)

    def _declare(self, spec: ParamSpec) -> None:
        """Declare one parameter; a start value out of its range is kept aside for configure to refuse.

        rclpy checks descriptor ranges while declaring and would raise out of
        the node's constructor (a traceback, no lifecycle); this way configure
        fails with the parameter, its range and the value, as for any other
        bad value, and the node stays up to be given a good one.
        """
        try:
            self.node.declare_parameter(spec.name, spec.default, _descriptor(spec))
        except InvalidParameterValueException as exc:
            given = _given_value(str(exc))
            self._refused_at_start.append(f"{spec.name} must be in [{spec.low}, {spec.high}], got {given}"
                                          " (the value it was started with)")
            self.node.declare_parameter(spec.name, spec.default, _descriptor(spec), ignore_override=True)

    def values(self) -> dict:
        """Return every parameter's current value by name: the one place they are read from ROS."""
        return {spec.name: self.node.get_parameter(spec.name).value for spec in PARAMS}

    def settings(self) -> NodeSettings:
        """Build the settings of the current values (ValueError naming a bad one); warn shadowed ones."""
        if self._refused_at_start:
            raise ValueError("; ".join(self._refused_at_start))
        values = self.values()
        settings = NodeSettings.from_values(values)
        self.warn_shadowed(values)
        return settings

    def warn_shadowed(self, values: dict) -> None:
        """Log each shadowed setting once, until it changes."""
        notes = frozenset(shadowed_settings(values))
        for note in sorted(notes - self._warned):
            self.node.get_logger().warning(note)
        self._warned = notes

    def _check(self, params) -> SetParametersResult:
        """Accept a set that leaves valid settings; other parameters (use_sim_time, bondpy's) are not the table's."""
        candidate = self.values()
        candidate.update({p.name: p.value for p in params if p.name in BY_NAME})
        try:
            NodeSettings.from_values(candidate)
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _applied(self, params) -> None:
        values = self.values()
        self._on_change(NodeSettings.from_values(values))
        self.warn_shadowed(values)


def _given_value(message: str) -> str:
    """Return the value V of rclpy's "Invalid parameter value (V) for parameter. ..." message."""
    start = message.find("(") + 1
    end = message.find(") for parameter")
    return message[start:end] if 0 < start <= end else "a value out of range"


def _descriptor(spec: ParamSpec) -> ParameterDescriptor:
    text = spec.description + (f" (one of {', '.join(spec.choices)})" if spec.choices else "")
    d = ParameterDescriptor(description=text, read_only=spec.read_only, dynamic_typing=True)
    if spec.low is None:
        return d
    if isinstance(spec.default, int):
        d.integer_range = [IntegerRange(from_value=int(spec.low), to_value=int(spec.high), step=1)]
    else:
        d.floating_point_range = [FloatingPointRange(from_value=float(spec.low),
                                                     to_value=float(spec.high), step=0.0)]
    return d
