"""The node's health as diagnostic_msgs/DiagnosticArray (rates, drops, latency, errors)."""
from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue


def diagnostics_msg(stamp, node_name: str, backend: str, counters: dict, rates: dict,
                    latencies_ms: dict, last_error: str, active: bool) -> DiagnosticArray:
    """Build the node's DiagnosticArray: every counter, rate and latency, and one status level."""
    values = [KeyValue(key="backend", value=backend)]
    values += [KeyValue(key=f"{k}_hz", value=f"{v:.2f}") for k, v in rates.items()]
    values += [KeyValue(key=k, value=str(v)) for k, v in counters.items()]
    for stage, pct in latencies_ms.items():
        if pct is not None:
            values.append(KeyValue(key=f"latency_{stage}_p50_ms", value=f"{pct[0]:.2f}"))
            values.append(KeyValue(key=f"latency_{stage}_p95_ms", value=f"{pct[1]:.2f}"))
    values.append(KeyValue(key="last_error", value=last_error))
    if not active:
        level, message = DiagnosticStatus.OK, "inactive"
    elif rates.get("input", 0.0) == 0.0:
        level, message = DiagnosticStatus.WARN, "no input images"
    elif last_error:
        level, message = DiagnosticStatus.WARN, last_error[:120]
    else:
        level, message = DiagnosticStatus.OK, "running"
    status = DiagnosticStatus(level=level, name=f"{node_name}: pipeline", message=message,
                              hardware_id=backend, values=values)
    array = DiagnosticArray(status=[status])
    array.header.stamp = stamp
    return array
