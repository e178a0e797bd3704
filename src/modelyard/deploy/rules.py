"""Prometheus recording rules, alerts, and the ``promtool test rules`` cases that prove
each alert fires when it should and stays quiet when it should not.

The expressions read only what ``/metrics`` exports (tests/integration/test_fleet_metrics.py
scrapes a real server and compares), aggregated with ``by (...)`` so several replicas of
one endpoint count as one fleet. Thresholds come from ``AlertThresholds``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RATE = "5m"


@dataclass(frozen=True)
class AlertThresholds:
    job: str = "modelyard"  # the Prometheus job that scrapes the servers
    error_ratio: float = 0.05  # 5xx share of requests
    latency_p95_seconds: float = 0.25  # the latency budget
    refused_ratio: float = 0.01  # share of requests admission refuses (503, deadline or bytes)
    no_traffic_minutes: int = 15
    # live quality floors (metric -> lowest acceptable), for metrics where higher is better
    quality_floors: tuple[tuple[str, float], ...] = (("accuracy", 0.8),)
    # quality estimated without labels (modelyard_estimated_quality, bound "value")
    estimated_floors: tuple[tuple[str, float], ...] = (("accuracy", 0.8),)
    estimated_minutes: int = 30  # how long the estimate stays below its floor
    data_quality_share: float = 0.1  # missing / out-of-range / unseen share of one feature
    # per segment (modelyard_segment_quality), for segments with at least this many rows
    segment_floors: tuple[tuple[str, float], ...] = (("accuracy", 0.7),)
    segment_min_rows: int = 100
    extra_labels: dict[str, str] = field(default_factory=dict)


def recording_rules() -> list[dict[str, str]]:
    requests = "modelyard_requests_total"
    buckets = "modelyard_request_duration_seconds_bucket"
    rules = [
        {
            "record": "endpoint_version_status:modelyard_requests:rate5m",
            "expr": f"sum by (endpoint, version, status) (rate({requests}[{RATE}]))",
        },
        {
            "record": "endpoint:modelyard_requests:rate5m",
            "expr": f"sum by (endpoint) (rate({requests}[{RATE}]))",
        },
        {
            "record": "endpoint:modelyard_requests_5xx:ratio_rate5m",
            "expr": f'sum by (endpoint) (rate({requests}{{status=~"5.."}}[{RATE}]))\n'
            f"/\nsum by (endpoint) (rate({requests}[{RATE}]))",
        },
    ]
    for quantile in ("50", "95", "99"):
        rules.append(
            {
                "record": f"endpoint:modelyard_request_duration_seconds:p{quantile}_rate5m",
                "expr": f"histogram_quantile(0.{quantile}, "
                f"sum by (endpoint, le) (rate({buckets}[{RATE}])))",
            }
        )
    return rules


def _alert(
    name: str, expr: str, wait: str, severity: str, summary: str, t: AlertThresholds
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": wait,
        "labels": {"severity": severity, **t.extra_labels},
        "annotations": {"summary": summary},
    }


def alert_rules(t: AlertThresholds) -> list[dict[str, Any]]:
    alerts = [
        _alert(
            "ModelyardHighErrorRatio",
            f"endpoint:modelyard_requests_5xx:ratio_rate5m > {t.error_ratio:g}",
            "5m",
            "page",
            f"{{{{ $labels.endpoint }}}}: more than {t.error_ratio:.0%} of requests fail (5xx)",
            t,
        ),
        _alert(
            "ModelyardLatencyBudget",
            f"endpoint:modelyard_request_duration_seconds:p95_rate5m > {t.latency_p95_seconds:g}",
            "10m",
            "page",
            f"{{{{ $labels.endpoint }}}}: p95 latency above {t.latency_p95_seconds:g} s",
            t,
        ),
        _alert(
            "ModelyardDataDrift",
            "max by (endpoint, version) (modelyard_drift_share)\n>= on (endpoint, version)\n"
            "max by (endpoint, version) (modelyard_drift_share_threshold)",
            "15m",
            "ticket",
            "{{ $labels.endpoint }} {{ $labels.version }}: the share of drifted features "
            "reached the endpoint's threshold",
            t,
        ),
    ]
    for metric, floor in t.quality_floors:
        alerts.append(
            _alert(
                "ModelyardQualityBelowFloor",
                f"max by (endpoint, version, metric) "
                f'(modelyard_quality{{metric="{metric}"}}) < {floor:g}',
                "15m",
                "ticket",
                f"{{{{ $labels.endpoint }}}} {{{{ $labels.version }}}}: live {metric} "
                f"below {floor:g}",
                t,
            )
        )
    alerts += _signal_alerts(t)
    alerts += [
        _alert(
            "ModelyardNoTraffic",
            "max by (endpoint) (modelyard_endpoint_serving) == 1\nunless on (endpoint)\n"
            f"sum by (endpoint) (rate(modelyard_requests_total[{t.no_traffic_minutes}m])) > 0",
            f"{t.no_traffic_minutes}m",
            "ticket",
            f"{{{{ $labels.endpoint }}}}: no requests for {t.no_traffic_minutes} minutes",
            t,
        ),
        _alert(
            "ModelyardReplicaDown",
            f'up{{job="{t.job}"}} == 0',
            "2m",
            "page",
            "{{ $labels.instance }}: the server does not answer scrapes",
            t,
        ),
        _alert(
            "ModelyardOverloaded",
            'sum by (instance) (rate(modelyard_refused_total{limit=~"deadline|queue_bytes"}[5m]))'
            "\n/\nsum by (instance) (rate(modelyard_requests_total[5m]))\n"
            f"> {t.refused_ratio:g}",
            "5m",
            "page",
            f"{{{{ $labels.instance }}}}: above {t.refused_ratio:.0%} of requests refused "
            "because the queued work would not finish within their deadline (scale out)",
            t,
        ),
        _alert(
            "ModelyardModelLoadFailing",
            "max by (endpoint) (modelyard_endpoint_load_failed) == 1",
            "5m",
            "page",
            "{{ $labels.endpoint }}: its newest version fails to load (an older one serves, "
            "or none)",
            t,
        ),
    ]
    return alerts


def _signal_alerts(t: AlertThresholds) -> list[dict[str, Any]]:
    """Estimated quality, data quality and segment quality: gauges the monitor computes
    from the store (the same on every replica, hence ``max by``)."""
    alerts = []
    for metric, floor in t.estimated_floors:
        alerts.append(
            _alert(
                "ModelyardEstimatedQualityBelowFloor",
                "max by (endpoint, version, metric)\n"
                f'(modelyard_estimated_quality{{metric="{metric}",bound="value"}})\n< {floor:g}',
                f"{t.estimated_minutes}m",
                "ticket",
                f"{{{{ $labels.endpoint }}}} {{{{ $labels.version }}}}: {metric} estimated "
                f"without labels below {floor:g} for {t.estimated_minutes} minutes",
                t,
            )
        )
    alerts.append(
        _alert(
            "ModelyardDataQuality",
            "max by (endpoint, version, feature, signal) (modelyard_feature_quality)"
            f" > {t.data_quality_share:g}",
            "15m",
            "ticket",
            "{{ $labels.endpoint }} {{ $labels.version }}: {{ $labels.signal }} of "
            f"{{{{ $labels.feature }}}} above {t.data_quality_share * 100:g} %",
            t,
        )
    )
    for metric, floor in t.segment_floors:
        alerts.append(
            _alert(
                "ModelyardSegmentQualityBelowFloor",
                "max by (endpoint, version, feature, segment, metric)\n"
                f'(modelyard_segment_quality{{metric="{metric}"}})\n< {floor:g}\n'
                "and on (endpoint, version, feature, segment)\n"
                "max by (endpoint, version, feature, segment) (modelyard_segment_rows)"
                f" >= {t.segment_min_rows}",
                "15m",
                "ticket",
                "{{ $labels.endpoint }} {{ $labels.version }}: "
                f"{metric} of the segment {{{{ $labels.feature }}}}={{{{ $labels.segment }}}} "
                f"below {floor:g}",
                t,
            )
        )
    alerts.append(
        _alert(
            "ModelyardPredictionLogDropping",
            f"sum by (instance) (rate(modelyard_monitor_dropped_rows_total[{RATE}])) > 0",
            "5m",
            "page",
            "{{ $labels.instance }}: prediction rows are dropped from the log (its queue or "
            "its unwritten-rows memory is full; the database may be down)",
            t,
        )
    )
    return alerts


def rules_document(t: AlertThresholds) -> dict[str, Any]:
    return {
        "groups": [
            {"name": "modelyard.recording", "interval": "30s", "rules": recording_rules()},
            {"name": "modelyard.alerts", "rules": alert_rules(t)},
        ]
    }
