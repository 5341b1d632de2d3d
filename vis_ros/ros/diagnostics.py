"""The node's health as diagnostic_msgs/DiagnosticArray (rates, drops, losses, latency, errors).

The level reports the current state, not the history: WARN while images are
being lost in transport, while the input has a problem (no publisher matched,
a silent one), or while the last error is recent; OK again once they stop.
The counters keep the history.
"""
from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from vis_ros.core.input_health import InputReport


def diagnostics_msg(stamp, node_name: str, backend: str, snapshot: dict, input_report: InputReport | None,
                    error: tuple[str, float | None], recent_error_s: float, active: bool,
                    outputs_off: str = "") -> DiagnosticArray:
    """Build the node's DiagnosticArray: every counter, rate and latency, and one status level."""
    counters, rates = snapshot["counters"], snapshot["rates"]
    values = [KeyValue(key="backend", value=backend)]
    values += [KeyValue(key=f"{k}_hz", value=f"{v:.2f}") for k, v in rates.items()]
    values += [KeyValue(key=k, value=str(v)) for k, v in counters.items()]
    for stage, pct in snapshot["latency_ms"].items():
        if pct is not None:
            values.append(KeyValue(key=f"latency_{stage}_p50_ms", value=f"{pct[0]:.2f}"))
            values.append(KeyValue(key=f"latency_{stage}_p95_ms", value=f"{pct[1]:.2f}"))
    if input_report is not None:
        values += [KeyValue(key="input_topic", value=input_report.topic),
                   KeyValue(key="transport_loss_rate", value=f"{input_report.loss_rate:.3f}"),
                   KeyValue(key="transport_loss_counted_from", value=str(input_report.source))]
    last_error, age = error
    values += [KeyValue(key="last_error", value=last_error),
               KeyValue(key="last_error_age_s", value="" if age is None else f"{age:.1f}"),
               KeyValue(key="outputs_off", value=outputs_off)]
    if not active:
        level, message = DiagnosticStatus.OK, "inactive"
    elif input_report is not None and input_report.problem:
        level, message = DiagnosticStatus.WARN, input_report.problem[:200]
    elif age is not None and age <= recent_error_s:
        level, message = DiagnosticStatus.WARN, f"error {age:.0f} s ago: {last_error[:160]}"
    elif rates.get("input", 0.0) == 0.0:
        level, message = DiagnosticStatus.WARN, "no input images"
    else:
        level, message = DiagnosticStatus.OK, "running"
    status = DiagnosticStatus(level=level, name=f"{node_name}: pipeline", message=message,
                              hardware_id=backend, values=values)
    array = DiagnosticArray(status=[status])
    array.header.stamp = stamp
    return array
