from __future__ import annotations

import json

from modelyard.deploy.dashboards import dashboard, expressions, fill, metric_names
from modelyard.deploy.observability import (
    ENDPOINT_DASHBOARD,
    FLEET_DASHBOARD,
    observability_files,
)

WANTED = (
    "Traffic by version",
    "Latency percentiles",
    "Errors by status",
    "Queue depth",
    "Batch size",
    "Drift share",
    "Live quality and feedback coverage",
    "Rollout",
    "CPU per process",
    "Memory per process",
    "Estimated vs realized quality",
    "Worst data-quality shares per feature",
    "Refusals by rule",
    "Recall per class",
    "Worst segments",
    "Prediction log",
)
SIGNALS = {
    "modelyard_estimated_quality",
    "modelyard_quality",
    "modelyard_feature_quality",
    "modelyard_refused_share",
    "modelyard_class_quality",
    "modelyard_segment_quality",
    "modelyard_segment_drift_share",
    "modelyard_monitor_dropped_rows_total",
    "modelyard_monitor_unwritten_bytes",
}


def test_both_dashboards_have_every_panel_the_issue_lists() -> None:
    files = observability_files()
    fleet, endpoint = (json.loads(files[name]) for name in (FLEET_DASHBOARD, ENDPOINT_DASHBOARD))
    for board in (fleet, endpoint):
        titles = [panel["title"] for panel in board["panels"]]
        assert [w for w in WANTED if not any(t.startswith(w) for t in titles)] == []
        assert len({panel["id"] for panel in board["panels"]}) == len(board["panels"])
    assert "Drift per feature" in [panel["title"] for panel in endpoint["panels"]]
    assert fleet["uid"] != endpoint["uid"]


def test_the_endpoint_dashboard_filters_every_modelyard_series_by_its_variable() -> None:
    board = dashboard(per_endpoint=True)
    [variable] = board["templating"]["list"]
    assert variable["name"] == "endpoint"
    for expr in expressions(board):
        if "endpoint" in expr and "process" not in expr and "in_flight" not in expr:
            assert 'endpoint="$endpoint"' in expr, expr
    assert not [e for e in expressions(dashboard(per_endpoint=False)) if "$endpoint" in e]


def test_the_filter_joins_existing_matchers() -> None:
    assert fill('m{status!~"2..",F}', 'endpoint="a"') == 'm{status!~"2..",endpoint="a"}'
    assert fill('m{status!~"2..",F}', "") == 'm{status!~"2.."}'
    assert fill("rate(m{F}[5m])", "") == "rate(m[5m])"


def test_metric_names_leave_out_recording_rules_and_functions() -> None:
    expr = (
        "endpoint:modelyard_requests_5xx:ratio_rate5m > 0.05 and on (endpoint) "
        'sum by (endpoint) (rate(modelyard_requests_total{status="500"}[5m])) > 0 '
        'unless up{job="modelyard"} == 0'
    )
    assert metric_names(expr) == {"modelyard_requests_total", "up"}


def test_the_signal_panels_read_the_new_gauges_and_stay_bounded() -> None:
    for per_endpoint in (False, True):
        board = dashboard(per_endpoint)
        read = set().union(*(metric_names(e) for e in expressions(board)))
        assert read >= SIGNALS
        panels = {panel["title"]: panel for panel in board["panels"]}
        for title in ("Worst data-quality shares per feature", "Recall per class"):
            [target] = panels[title]["targets"]
            assert target["expr"].startswith(("topk(10, ", "bottomk(10, ")), target["expr"]
        worst = [t["expr"] for t in panels["Worst segments"]["targets"]]
        assert [e.split("(")[0] for e in worst] == ["bottomk", "topk"]
        estimated = panels["Estimated vs realized quality"]["targets"][0]["expr"]
        assert 'bound="value"' in estimated


def test_a_target_in_another_unit_gets_its_own_axis() -> None:
    panel = next(p for p in dashboard(False)["panels"] if p["title"].startswith("Prediction log"))
    [override] = panel["fieldConfig"]["overrides"]
    assert override["matcher"] == {"id": "byFrameRefID", "options": "B"}
    assert {"id": "unit", "value": "bytes"} in override["properties"]
    assert "unwritten_bytes" in panel["targets"][1]["expr"]


def test_the_names_read_are_the_names_the_monitor_and_server_export() -> None:
    """The new panels and alerts read gauges the collectors define (the integration test
    scrapes a server for those its traffic makes; segments and estimates need settings)."""
    from prometheus_client import CollectorRegistry

    from modelyard.deploy.rules import AlertThresholds, rules_document
    from modelyard.monitoring.prometheus import MonitorGauges
    from modelyard.serving.metric_samples import TableSamples

    exported = {family.name for family in MonitorGauges().collect()}
    registry = CollectorRegistry()
    TableSamples(registry)
    exported |= {s.name for family in registry.collect() for s in family.samples}
    exported |= {f"{family.name}_total" for family in registry.collect()}
    rules = rules_document(AlertThresholds())["groups"][1]["rules"]
    read = set().union(*(metric_names(r["expr"]) for r in rules))
    read |= set().union(
        *(metric_names(e) for p in (False, True) for e in expressions(dashboard(p)))
    )
    assert SIGNALS - {"modelyard_quality"} <= read & exported
    assert "modelyard_segment_rows" in read & exported
