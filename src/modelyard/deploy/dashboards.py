"""Grafana dashboards as plain JSON: one for the fleet, one per endpoint (a template
variable picks it). Plain dicts rather than a builder library: the model is a few panels
of PromQL, and the JSON is what Grafana provisions from files.

Every expression aggregates over replicas (``sum by`` / ``max by``), reads only metrics
``/metrics`` exports, and parses (tests/deploy/test_rules.py runs each one through
``promtool check rules``; tests/integration/test_fleet_metrics.py checks the names).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
RATE = "$__rate_interval"


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    targets: tuple[tuple[str, str], ...]  # (expr with {F} for the dashboard's filter, legend)
    description: str = ""
    units: tuple[tuple[str, str], ...] = ()  # (refId, unit) where a target's unit differs


def _quantiles(by: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        (
            f"histogram_quantile({q}, sum by ({by}le) "
            f"(rate(modelyard_request_duration_seconds_bucket{{F}}[{RATE}])))",
            f"p{round(q * 100)}" + (" {{endpoint}}" if by else ""),
        )
        for q in (0.5, 0.95, 0.99)
    )


def _panels(per_endpoint: bool) -> list[Panel]:
    by = "" if per_endpoint else "endpoint, "
    panels = [
        Panel(
            "Traffic by version",
            "reqps",
            (
                (
                    f"sum by (endpoint, version) (rate(modelyard_requests_total{{F}}[{RATE}]))",
                    "{{endpoint}} {{version}}",
                ),
            ),
        ),
        Panel("Latency percentiles", "s", _quantiles(by)),
        Panel(
            "Errors by status",
            "reqps",
            (
                (
                    f'sum by (endpoint, status) (rate(modelyard_requests_total{{status!~"2..",F}}'
                    f"[{RATE}]))",
                    "{{endpoint}} {{status}}",
                ),
            ),
        ),
        Panel(
            "Queue depth and in-flight requests",
            "short",
            (
                ("sum by (endpoint, version) (modelyard_queue_rows{F})", "queued {{version}}"),
                ("sum by (instance) (modelyard_in_flight_requests)", "in flight {{instance}}"),
            ),
        ),
        Panel(
            "Batch size (rows per model call)",
            "short",
            (
                (
                    f"sum by (endpoint, version) (rate(modelyard_batch_rows_sum{{F}}[{RATE}]))\n/\n"
                    f"sum by (endpoint, version) (rate(modelyard_batch_rows_count{{F}}[{RATE}]))",
                    "{{version}}",
                ),
            ),
        ),
        Panel(
            "Drift share",
            "percentunit",
            (
                ("max by (endpoint, version) (modelyard_drift_share{F})", "{{version}}"),
                (
                    "max by (endpoint, version) (modelyard_drift_share_threshold{F})",
                    "threshold {{version}}",
                ),
            ),
        ),
        Panel(
            "Live quality and feedback coverage",
            "percentunit",
            (
                (
                    "max by (endpoint, version, metric) (modelyard_quality{F})",
                    "{{metric}} {{version}}",
                ),
                (
                    "max by (endpoint, version) (modelyard_feedback_coverage{F})",
                    "coverage {{version}}",
                ),
            ),
        ),
        Panel(
            "Rollout: traffic weight per route",
            "percent",
            (("max by (endpoint, model, role) (modelyard_route_weight{F})", "{{role}} {{model}}"),),
            "A canary's weight is its rollout step.",
        ),
        Panel(
            "Model loads failing",
            "short",
            (("max by (endpoint) (modelyard_endpoint_load_failed{F})", "{{endpoint}}"),),
        ),
        Panel(
            "CPU per process",
            "percentunit",
            (
                (
                    f"sum by (instance, pid, role) "
                    f"(rate(modelyard_process_cpu_seconds_total[{RATE}]))",
                    "{{instance}} {{role}} {{pid}}",
                ),
            ),
        ),
        Panel(
            "Memory per process and per model",
            "bytes",
            (
                (
                    "sum by (instance, pid, role) (modelyard_process_resident_memory_bytes)",
                    "{{instance}} {{role}} {{pid}}",
                ),
                ("max by (version) (modelyard_model_memory_bytes)", "model {{version}}"),
            ),
        ),
        Panel(
            "Open files and threads per process",
            "short",
            (
                ("sum by (instance, pid) (modelyard_process_open_fds)", "fds {{pid}}"),
                ("sum by (instance, pid) (modelyard_process_threads)", "threads {{pid}}"),
            ),
        ),
    ]
    panels += _signal_panels()
    if per_endpoint:
        panels.insert(
            6,
            Panel(
                "Drift per feature",
                "short",
                (
                    (
                        "max by (feature, test) (modelyard_feature_drift{F})",
                        "{{feature}} ({{test}})",
                    ),
                ),
                "Each feature's drift statistic; p-value tests end in _p_value.",
            ),
        )
    else:
        panels.append(Panel("Replicas up", "short", (('sum(up{job="modelyard"})', "replicas"),)))
    return panels


TOP = 10  # series a "worst" panel shows at most (topk / bottomk): bounded whatever the labels


def _signal_panels() -> list[Panel]:
    """Estimated and realized quality, data quality, refusals, per-class recall, the worst
    segments and the prediction log: the monitor's gauges (computed from the store, the same
    on every replica, hence ``max by``) and the log's per-process counters."""
    segment_metrics = "accuracy|f1|estimated_accuracy|estimated_f1"
    return [
        Panel(
            "Estimated vs realized quality",
            "percentunit",
            (
                (
                    "max by (endpoint, version, metric) "
                    '(modelyard_estimated_quality{bound="value",F})',
                    "estimated {{metric}} {{version}}",
                ),
                (
                    'max by (endpoint, version, metric) (modelyard_quality{metric=~"accuracy|'
                    'precision|recall|f1|roc_auc",F})',
                    "realized {{metric}} {{version}}",
                ),
            ),
            "Estimated without labels (from the model's probabilities, calibrated on a "
            "holdout) beside the quality realized from feedback, per version.",
        ),
        Panel(
            "Worst data-quality shares per feature",
            "percentunit",
            (
                (
                    f"topk({TOP}, max by (endpoint, version, feature, signal) "
                    "(modelyard_feature_quality{F}))",
                    "{{feature}} {{signal}} {{version}}",
                ),
            ),
            "Shares of a feature's values missing, outside the training range or never "
            f"seen in training; the {TOP} worst.",
        ),
        Panel(
            "Refusals by rule",
            "percentunit",
            (
                (
                    "max by (endpoint, version, rule) (modelyard_refused_share{F}) > 0",
                    "{{rule}} {{version}}",
                ),
            ),
            "Share of requests refused (4xx) by each validation rule; rules refusing "
            "nothing are left out.",
        ),
        Panel(
            "Recall per class",
            "percentunit",
            (
                (
                    f"bottomk({TOP}, max by (endpoint, version, class) "
                    '(modelyard_class_quality{metric="recall",F}))',
                    "{{class}} {{version}}",
                ),
            ),
            f"Recall of each class from feedback; the {TOP} lowest.",
        ),
        Panel(
            "Worst segments",
            "percentunit",
            (
                (
                    f"bottomk({TOP}, max by (endpoint, version, feature, segment, metric) "
                    f'(modelyard_segment_quality{{metric=~"{segment_metrics}",F}}))',
                    "{{feature}}={{segment}} {{metric}} {{version}}",
                ),
                (
                    f"topk({TOP}, max by (endpoint, version, feature, segment) "
                    "(modelyard_segment_drift_share{F}))",
                    "drift {{feature}}={{segment}} {{version}}",
                ),
            ),
            f"The {TOP} segments with the lowest quality (realized or estimated) and the "
            f"{TOP} with the highest drift share.",
        ),
        Panel(
            "Prediction log: dropped rows and unwritten bytes",
            "short",
            (
                (
                    f"sum by (instance) (rate(modelyard_monitor_dropped_rows_total[{RATE}]))",
                    "dropped {{instance}}",
                ),
                ("sum by (instance) (modelyard_monitor_unwritten_bytes)", "unwritten {{instance}}"),
            ),
            "Rows the log will not have (queue full, or unwritten memory full while the "
            "database is down), and the rows held in memory after a failed write.",
            units=(("B", "bytes"),),
        ),
    ]


def _unit_override(ref: str, unit: str) -> dict[str, Any]:
    """The series of target ``ref`` in ``unit``, on an axis of their own (right)."""
    return {
        "matcher": {"id": "byFrameRefID", "options": ref},
        "properties": [
            {"id": "unit", "value": unit},
            {"id": "custom.axisPlacement", "value": "right"},
        ],
    }


def fill(expr: str, matcher: str) -> str:
    """Put the dashboard's label matcher where ``{F}`` (or ``,F}``) stands."""
    out = expr.replace(",F}", f",{matcher}}}" if matcher else "}").replace("{F}", f"{{{matcher}}}")
    return out.replace("{}", "")


def dashboard(per_endpoint: bool) -> dict[str, Any]:
    matcher = 'endpoint="$endpoint"' if per_endpoint else ""
    panels = []
    for i, panel in enumerate(_panels(per_endpoint)):
        panels.append(
            {
                "id": i + 1,
                "type": "timeseries",
                "title": panel.title,
                "description": panel.description,
                "datasource": DATASOURCE,
                "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
                "fieldConfig": {
                    "defaults": {"unit": panel.unit},
                    "overrides": [_unit_override(ref, unit) for ref, unit in panel.units],
                },
                "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
                "targets": [
                    {
                        "refId": chr(ord("A") + j),
                        "datasource": DATASOURCE,
                        "expr": fill(expr, matcher),
                        "legendFormat": legend,
                    }
                    for j, (expr, legend) in enumerate(panel.targets)
                ],
            }
        )
    variables = []
    if per_endpoint:
        variables.append(
            {
                "name": "endpoint",
                "label": "Endpoint",
                "type": "query",
                "datasource": DATASOURCE,
                "query": {
                    "query": "label_values(modelyard_endpoint_serving, endpoint)",
                    "refId": "V",
                },
                "definition": "label_values(modelyard_endpoint_serving, endpoint)",
                "refresh": 2,
                "sort": 1,
            }
        )
    name = "endpoint" if per_endpoint else "fleet"
    return {
        "uid": f"modelyard-{name}",
        "title": f"modelyard · {'endpoint $endpoint' if per_endpoint else 'fleet'}",
        "tags": ["modelyard"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": variables},
        "annotations": {"list": []},
        "panels": panels,
    }


def expressions(board: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


def as_json(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


METRIC = re.compile(r"(?<![\w:])(modelyard_[a-z0-9_]+|up)(?=\s*[{\[)]|\s*$)")


def metric_names(expr: str) -> set[str]:
    """The metrics an expression reads (recording rules, which hold a colon, left out)."""
    return set(METRIC.findall(expr))
