"""``promtool test rules`` cases: for every alert, input series that make it fire and
series that keep it quiet, evaluated after the alert's ``for`` has passed.

Every series runs from 0 for ``SPAN`` minutes; the cases are evaluated at ``EVAL``, past
the longest ``for`` (which ``--estimated-minutes`` can lengthen)."""

from __future__ import annotations

import re
from typing import Any

from modelyard.deploy.rules import AlertThresholds, alert_rules

WHERE = {"job": "modelyard", "instance": "replica-a:8000"}
EP = {"endpoint": "churn-api"}
EPV = {**EP, "version": "churn@1"}
SEG = {**EPV, "feature": "country", "segment": "FR"}


def _eval_minutes(t: AlertThresholds) -> int:
    longest = max(int(rule["for"].removesuffix("m")) for rule in alert_rules(t))
    return max(30, longest + 5)


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    """``values`` ends in ``xN`` (N samples after the first) or is a constant ``V``,
    repeated over the span; the span is filled in by :func:`_spanned`."""
    pairs = ",".join(f'{k}="{v}"' for k, v in {**WHERE, **labels}.items())
    return {"series": f"{name}{{{pairs}}}", "values": values}


def _spanned(series: list[dict[str, str]], minutes: int) -> list[dict[str, str]]:
    return [{**s, "values": f"{s['values']}x{minutes}"} for s in series]


def _requests(ok_per_minute: int, failed_per_minute: int) -> list[dict[str, str]]:
    name = "modelyard_requests_total"
    return [
        _series(name, {**EPV, "status": "200"}, f"0+{ok_per_minute}"),
        _series(name, {**EPV, "status": "503"}, f"0+{failed_per_minute}"),
    ]


def _latency(fast: int, slow: int) -> list[dict[str, str]]:
    """Per minute: ``fast`` requests under 10 ms, ``slow`` ones between 1 s and 10 s."""
    name = "modelyard_request_duration_seconds_bucket"
    return [
        _series(name, {**EP, "le": "0.01"}, f"0+{fast}"),
        _series(name, {**EP, "le": "0.1"}, f"0+{fast}"),
        _series(name, {**EP, "le": "1"}, f"0+{fast}"),
        _series(name, {**EP, "le": "10"}, f"0+{fast + slow}"),
        _series(name, {**EP, "le": "+Inf"}, f"0+{fast + slow}"),
    ]


def _cases(t: AlertThresholds) -> dict[str, tuple[list[Any], list[Any], dict[str, str]]]:
    """alert -> (series that fire it, series that keep it quiet, the alert's labels)."""
    floor = t.quality_floors[0][1] if t.quality_floors else 0.0
    metric = t.quality_floors[0][0] if t.quality_floors else "accuracy"
    share, limit = "modelyard_drift_share", "modelyard_drift_share_threshold"
    serving = _series("modelyard_endpoint_serving", EPV, "1")
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
            [_series(share, EPV, "0.6"), _series(limit, EPV, "0.5")],
            [_series(share, EPV, "0.2"), _series(limit, EPV, "0.5")],
            EPV,
        ),
        "ModelyardQualityBelowFloor": (
            [_series(quality, {**EPV, "metric": metric}, f"{floor / 2:g}")],
            [_series(quality, {**EPV, "metric": metric}, f"{(1 + floor) / 2:g}")],
            {**EPV, "metric": metric},
        ),
        "ModelyardNoTraffic": ([serving, *_requests(0, 0)], [serving, *_requests(60, 0)], EP),
        "ModelyardReplicaDown": (
            [_series("up", {}, "0")],
            [_series("up", {}, "1")],
            dict(WHERE),
        ),
        "ModelyardOverloaded": (
            [*_requests(120 - over, over), _series(refused, {"limit": "deadline"}, f"0+{over}")],
            [*_requests(120, 0), _series(refused, {"limit": "deadline"}, "0")],
            {"instance": WHERE["instance"]},
        ),
        **_signal_cases(t),
        "ModelyardModelLoadFailing": (
            [_series("modelyard_endpoint_load_failed", EP, "1")],
            [_series("modelyard_endpoint_load_failed", EP, "0")],
            EP,
        ),
    }


def _signal_cases(t: AlertThresholds) -> dict[str, tuple[list[Any], list[Any], dict[str, str]]]:
    metric, floor = t.estimated_floors[0] if t.estimated_floors else ("accuracy", 0.8)
    est = {**EPV, "metric": metric}
    estimated = "modelyard_estimated_quality"
    share = t.data_quality_share
    feature = {**EPV, "feature": "income", "signal": "missing_share"}
    seg_metric, seg_floor = t.segment_floors[0] if t.segment_floors else ("accuracy", 0.7)
    seg = {**SEG, "metric": seg_metric}
    low, high = f"{seg_floor / 2:g}", f"{(1 + seg_floor) / 2:g}"
    rows = "modelyard_segment_rows"
    enough, few = f"{t.segment_min_rows}", f"{max(0, t.segment_min_rows - 1)}"
    dropped = "modelyard_monitor_dropped_rows_total"
    return {
        "ModelyardEstimatedQualityBelowFloor": (
            # the interval's low end below the floor alone does not fire: only the value
            [
                _series(estimated, {**est, "bound": "value"}, f"{floor / 2:g}"),
                _series(estimated, {**est, "bound": "high"}, f"{(1 + floor) / 2:g}"),
            ],
            [
                _series(estimated, {**est, "bound": "value"}, f"{(1 + floor) / 2:g}"),
                _series(estimated, {**est, "bound": "low"}, f"{floor / 2:g}"),
            ],
            est,
        ),
        "ModelyardDataQuality": (
            [_series("modelyard_feature_quality", feature, f"{(1 + share) / 2:g}")],
            [_series("modelyard_feature_quality", feature, f"{share / 2:g}")],
            feature,
        ),
        "ModelyardSegmentQualityBelowFloor": (
            [_series("modelyard_segment_quality", seg, low), _series(rows, SEG, enough)],
            # low quality on too few rows, and good quality on many, stay quiet
            [
                _series("modelyard_segment_quality", seg, low),
                _series(rows, SEG, few),
                _series("modelyard_segment_quality", {**seg, "segment": "DE"}, high),
                _series(rows, {**SEG, "segment": "DE"}, enough),
            ],
            seg,
        ),
        "ModelyardPredictionLogDropping": (
            [_series(dropped, {}, "0+50")],
            [_series(dropped, {}, "0")],
            {"instance": WHERE["instance"]},
        ),
    }


def _expand(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], template)


def rules_tests_document(t: AlertThresholds, rules_file: str) -> dict[str, Any]:
    cases = _cases(t)
    minutes = _eval_minutes(t)
    tests, seen = [], set()
    for rule in alert_rules(t):
        name = rule["alert"]
        if name in seen:
            continue  # several floors: the first one tests the rule's shape
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
                    "input_series": _spanned(series, minutes + 10),
                    "alert_rule_test": [
                        {"eval_time": f"{minutes}m", "alertname": name, "exp_alerts": alerts}
                    ],
                }
            )
    return {"rule_files": [rules_file], "evaluation_interval": "1m", "tests": tests}
