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
)


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
