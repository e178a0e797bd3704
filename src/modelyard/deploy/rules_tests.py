"""``promtool test rules`` cases: for every alert, input series that make it fire and
series that keep it quiet, evaluated after the alert's ``for`` has passed."""

from __future__ import annotations

import re
from typing import Any

from modelyard.deploy.rules import AlertThresholds, alert_rules

WHERE = {"job": "modelyard", "instance": "replica-a:8000"}
EP = {"endpoint": "churn-api"}
EPV = {**EP, "version": "churn@1"}
EVAL = "30m"  # past every alert's `for`, with the series running from 0 to 40m


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    pairs = ",".join(f'{k}="{v}"' for k, v in {**WHERE, **labels}.items())
    return {"series": f"{name}{{{pairs}}}", "values": values}


def _requests(ok_per_minute: int, failed_per_minute: int) -> list[dict[str, str]]:
    name = "modelyard_requests_total"
    return [
        _series(name, {**EPV, "status": "200"}, f"0+{ok_per_minute}x40"),
        _series(name, {**EPV, "status": "503"}, f"0+{failed_per_minute}x40"),
    ]


def _latency(fast: int, slow: int) -> list[dict[str, str]]:
    """Per minute: ``fast`` requests under 10 ms, ``slow`` ones between 1 s and 10 s."""
    name = "modelyard_request_duration_seconds_bucket"
    return [
        _series(name, {**EP, "le": "0.01"}, f"0+{fast}x40"),
        _series(name, {**EP, "le": "0.1"}, f"0+{fast}x40"),
        _series(name, {**EP, "le": "1"}, f"0+{fast}x40"),
        _series(name, {**EP, "le": "10"}, f"0+{fast + slow}x40"),
        _series(name, {**EP, "le": "+Inf"}, f"0+{fast + slow}x40"),
    ]


def _cases(t: AlertThresholds) -> dict[str, tuple[list[Any], list[Any], dict[str, str]]]:
    """alert -> (series that fire it, series that keep it quiet, the alert's labels)."""
    floor = t.quality_floors[0][1] if t.quality_floors else 0.0
    metric = t.quality_floors[0][0] if t.quality_floors else "accuracy"
    share, limit = "modelyard_drift_share", "modelyard_drift_share_threshold"
    serving = _series("modelyard_endpoint_serving", EPV, "1x40")
    quality = "modelyard_quality"
    refused = "modelyard_refused_total"
    over = max(2, round(120 * min(1.0, t.refused_ratio * 4)))  # per minute, of 120 requests
    return {
        "ModelyardHighErrorRatio": (_requests(60, 60), _requests(600, 1), EP),
        "ModelyardLatencyBudget": (
            _latency(0, 60),  # p95 9.55 s: above any sensible budget
            _latency(600, 1),
            EP,
        ),
        "ModelyardDataDrift": (
            [_series(share, EPV, "0.6x40"), _series(limit, EPV, "0.5x40")],
            [_series(share, EPV, "0.2x40"), _series(limit, EPV, "0.5x40")],
            EPV,
        ),
        "ModelyardQualityBelowFloor": (
            [_series(quality, {**EPV, "metric": metric}, f"{floor / 2:g}x40")],
            [_series(quality, {**EPV, "metric": metric}, f"{(1 + floor) / 2:g}x40")],
            {**EPV, "metric": metric},
        ),
        "ModelyardNoTraffic": ([serving, *_requests(0, 0)], [serving, *_requests(60, 0)], EP),
        "ModelyardReplicaDown": (
            [_series("up", {}, "0x40")],
            [_series("up", {}, "1x40")],
            dict(WHERE),
        ),
        "ModelyardOverloaded": (
            [*_requests(120 - over, over), _series(refused, {"limit": "deadline"}, f"0+{over}x40")],
            [*_requests(120, 0), _series(refused, {"limit": "deadline"}, "0x40")],
            {"instance": WHERE["instance"]},
        ),
        "ModelyardModelLoadFailing": (
            [_series("modelyard_endpoint_load_failed", EP, "1x40")],
            [_series("modelyard_endpoint_load_failed", EP, "0x40")],
            EP,
        ),
    }


def _expand(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], template)


def rules_tests_document(t: AlertThresholds, rules_file: str) -> dict[str, Any]:
    cases = _cases(t)
    tests, seen = [], set()
    for rule in alert_rules(t):
        name = rule["alert"]
        if name in seen:
            continue  # several quality floors: the first one tests the rule's shape
        seen.add(name)
        fire, quiet, labels = cases[name]
        expected = {
            "exp_labels": {**labels, **rule["labels"]},
            "exp_annotations": {
                k: _expand(v, {**labels, **rule["labels"]}) for k, v in rule["annotations"].items()
            },
        }
        for series, alerts in ((fire, [expected]), (quiet, [])):
            tests.append(
                {
                    "interval": "1m",
                    "input_series": series,
                    "alert_rule_test": [
                        {"eval_time": EVAL, "alertname": name, "exp_alerts": alerts}
                    ],
                }
            )
    return {"rule_files": [rules_file], "evaluation_interval": "1m", "tests": tests}
