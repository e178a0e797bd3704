"""The numbers conditions read: one version's monitor summary flattened to metric → value."""

from __future__ import annotations

from modelyard.domain.conditions import METRICS
from modelyard.domain.monitor_results import (
    DRIFT,
    ESTIMATED_METRICS,
    NO_DRIFT,
    QUALITY_METRICS,
    MonitorSummary,
    VersionMonitor,
)
from modelyard.domain.segments import segment_key


def version_metrics(version: VersionMonitor | None) -> dict[str, float | None]:
    """``version``: one version of a monitor summary (None: no traffic at all)."""
    values: dict[str, float | None] = dict.fromkeys(METRICS)
    if version is None:
        values["requests"] = values["rows"] = values["attempts"] = values["labeled"] = 0.0
        return values
    traffic = version.traffic
    values["requests"] = float(traffic.requests)
    # Requests that reached the version, failed ones included: a candidate that fails
    # every request has no rows, yet plenty of evidence.
    values["attempts"] = float(traffic.attempts)
    values["rows"] = float(traffic.rows)
    values["error_rate"] = traffic.error_rate
    values["client_error_rate"] = traffic.client_error_rate
    values["p50_ms"] = traffic.latency_ms.p50
    values["p95_ms"] = traffic.latency_ms.p95
    values["p99_ms"] = traffic.latency_ms.p99
    values["drift_share"] = version.drift_share
    output = version.drift.output if version.drift else None
    if output is not None and output.verdict in (DRIFT, NO_DRIFT):
        values["output_drift"] = 1.0 if output.verdict == DRIFT else 0.0
    values["feedback_coverage"] = version.feedback.coverage
    for name in QUALITY_METRICS:
        values[name] = version.quality.metric(name)
    values["labeled"] = float(version.quality.labeled)
    if version.estimate is not None:
        for name in ESTIMATED_METRICS:
            values[name] = version.estimate.value(name.removeprefix("estimated_"))
    if version.data_quality is not None:
        values.update(version.data_quality.metrics())
    if version.per_class is not None:
        values.update(version.per_class.metrics())
    for segment in version.segments:  # accuracy[country=FR], … (domain/conditions.py)
        for name, value in segment.metrics().items():
            values[segment_key(name, segment.feature, segment.value)] = value
    return values


def endpoint_metrics(summary: MonitorSummary, ref: str | None) -> dict[str, float | None]:
    """The metrics of ``ref`` in an endpoint summary (the busiest version when None)."""
    return version_metrics(summary.version(ref))
