"""The node's health as diagnostic_msgs/DiagnosticArray (rates, drops, losses, latency, errors).

One status per camera (`<node>: pipeline` for the one unnamed camera, else
`<node>: <camera>`), then `<node>: engine` (engine calls by batch size,
engine time per call). A camera's level reports its current state, not the
history: WARN while images are being lost in transport, while the input has a
problem (no publisher matched, a silent one), or while the last error is
recent, or while more than WITHOUT_3D_WARN_SHARE of its recent frames got
no 3D (with the commonest cause); OK again once they stop. The counters keep the history.
"""
from __future__ import annotations

from collections.abc import Mapping

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from vis_ros.core.pipeline.reports import CameraReport, EngineReport, Percentiles
from vis_ros.core.streaming.input_health import InputReport

RECENT_ERROR_S = 10.0  # an error this recent keeps the camera's status at WARN
WITHOUT_3D_WARN_SHARE = 0.1  # more of the recent frames than this without 3D is a WARN


def camera_status(node_name: str, backend: str, report: CameraReport, input_report: InputReport | None,
                  active: bool, outputs_off: str = "") -> DiagnosticStatus:
    """Build one camera's status: every counter, rate and latency, and one level."""
    values = [KeyValue(key="backend", value=backend),
              KeyValue(key="input_hz", value=f"{report.input_hz:.2f}"),
              KeyValue(key="output_hz", value=f"{report.output_hz:.2f}")]
    values += [KeyValue(key=k, value=str(v)) for k, v in report.counts.items()]
    values += _latencies(report.latency_ms, "latency_")
    if input_report is not None:
        values += [KeyValue(key="input_topic", value=input_report.topic),
                   KeyValue(key="transport_loss_rate", value=f"{input_report.loss_rate:.3f}"),
                   KeyValue(key="transport_loss_counted_from", value=str(input_report.source))]
    age = report.last_error_age_s
    values += [KeyValue(key="recent_without_3d", value=f"{report.recent_without_3d:.2f}"),
               KeyValue(key="without_3d_cause", value=report.without_3d_cause)]
    values += [KeyValue(key="last_error", value=report.last_error),
               KeyValue(key="last_error_age_s", value="" if age is None else f"{age:.1f}"),
               KeyValue(key="outputs_off", value=outputs_off)]
    if not active:
        level, message = DiagnosticStatus.OK, "inactive"
    elif input_report is not None and input_report.problem:
        level, message = DiagnosticStatus.WARN, input_report.problem[:200]
    elif age is not None and age <= RECENT_ERROR_S:
        level, message = DiagnosticStatus.WARN, f"error {age:.0f} s ago: {report.last_error[:160]}"
    elif report.input_hz == 0.0:
        level, message = DiagnosticStatus.WARN, "no input images"
    elif report.recent_without_3d > WITHOUT_3D_WARN_SHARE:
        level, message = DiagnosticStatus.WARN, (f"no 3D for {report.recent_without_3d:.0%} of recent frames on"
                                                 f" {report.label}: {report.without_3d_cause}")
    else:
        level, message = DiagnosticStatus.OK, "running"
    return DiagnosticStatus(level=level, name=f"{node_name}: {report.label}", message=message, hardware_id=backend,
                            values=values)


def engine_status(node_name: str, backend: str, engine: EngineReport) -> DiagnosticStatus:
    """Build the engine's status: calls by batch size and engine time per call by batch size."""
    values = [KeyValue(key=f"engine_calls_batch_{size}", value=str(count))
              for size, count in engine.calls_by_batch.items()]
    values += _latencies(engine.time_per_call_ms, "engine_time_")
    return DiagnosticStatus(level=DiagnosticStatus.OK, name=f"{node_name}: engine",
                            message=f"{engine.calls} engine calls, {engine.images_per_call:.2f} images per call",
                            hardware_id=backend, values=values)


def _latencies(latency_ms: Mapping[str, Percentiles], prefix: str) -> list[KeyValue]:
    values = []
    for stage, pct in latency_ms.items():
        values.append(KeyValue(key=f"{prefix}{stage}_p50_ms", value=f"{pct.p50_ms:.2f}"))
        values.append(KeyValue(key=f"{prefix}{stage}_p95_ms", value=f"{pct.p95_ms:.2f}"))
    return values


def diagnostics_msg(stamp, statuses: list[DiagnosticStatus]) -> DiagnosticArray:
    """Build the node's DiagnosticArray from its statuses."""
    array = DiagnosticArray(status=statuses)
    array.header.stamp = stamp
    return array
