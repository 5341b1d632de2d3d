"""The node's health as diagnostic_msgs/DiagnosticArray (rates, drops, losses, latency, errors).

One status per camera (`<node>: pipeline` for the one unnamed camera, else
`<node>: <camera>`), then `<node>: engine` (engine calls by batch size,
engine time per call). A camera's level reports its current state, not the history: WARN while images are
being lost in transport, while the input has a problem (no publisher matched,
a silent one), or while the last error is recent; OK again once they stop.
The counters keep the history.
"""
from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from vis_ros.core.input_health import InputReport


def camera_status(node_name: str, label: str, backend: str, snapshot: dict, input_report: InputReport | None,
                  error: tuple[str, float | None], recent_error_s: float, active: bool,
                  outputs_off: str = "") -> DiagnosticStatus:
    """Build one camera's status: every counter, rate and latency, and one level."""
    counters, rates = snapshot["counters"], snapshot["rates"]
    values = [KeyValue(key="backend", value=backend)]
    values += [KeyValue(key=f"{k}_hz", value=f"{v:.2f}") for k, v in rates.items()]
    values += [KeyValue(key=k, value=str(v)) for k, v in counters.items()]
    values += _latencies(snapshot["latency_ms"], "latency_")
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
    return DiagnosticStatus(level=level, name=f"{node_name}: {label}", message=message, hardware_id=backend,
                            values=values)


def engine_status(node_name: str, backend: str, engine: dict) -> DiagnosticStatus:
    """Build the engine's status: calls by batch size and engine time per call by batch size."""
    batches = engine["batches"]
    values = [KeyValue(key=f"engine_calls_batch_{size}", value=str(count)) for size, count in batches.items()]
    values += _latencies(engine["latency_ms"], "engine_time_")
    calls = sum(batches.values())
    mean = sum(size * count for size, count in batches.items()) / calls if calls else 0.0
    return DiagnosticStatus(level=DiagnosticStatus.OK, name=f"{node_name}: engine",
                            message=f"{calls} engine calls, {mean:.2f} images per call", hardware_id=backend,
                            values=values)


def _latencies(latency_ms: dict, prefix: str) -> list[KeyValue]:
    values = []
    for stage, pct in latency_ms.items():
        if pct is not None:
            values.append(KeyValue(key=f"{prefix}{stage}_p50_ms", value=f"{pct[0]:.2f}"))
            values.append(KeyValue(key=f"{prefix}{stage}_p95_ms", value=f"{pct[1]:.2f}"))
    return values


def diagnostics_msg(stamp, statuses: list[DiagnosticStatus]) -> DiagnosticArray:
    """Build the node's DiagnosticArray from its statuses."""
    array = DiagnosticArray(status=statuses)
    array.header.stamp = stamp
    return array
