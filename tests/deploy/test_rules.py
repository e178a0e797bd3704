"""The generated rules, their unit tests and every dashboard expression, checked by
promtool itself (check rules, test rules, check config)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from modelyard.deploy.dashboards import dashboard, expressions
from modelyard.deploy.observability import RULES, RULES_TEST, observability_files
from modelyard.deploy.rules import AlertThresholds, alert_rules


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def promtool_run(promtool: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def test_rules_pass_check_and_every_alert_fires_and_stays_quiet(
    promtool: Path, tmp_path: Path
) -> None:
    write(tmp_path, observability_files())
    checked = promtool_run(promtool, "check", "rules", tmp_path / RULES)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool_run(promtool, "test", "rules", tmp_path / RULES_TEST)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    cases = yaml.safe_load((tmp_path / RULES_TEST).read_text())["tests"]
    tested_alerts = [c["alert_rule_test"][0]["alertname"] for c in cases]
    every_alert = {rule["alert"] for rule in alert_rules(AlertThresholds())}
    assert sorted(tested_alerts) == sorted([*every_alert, *every_alert])  # fires, stays quiet
    assert {bool(c["alert_rule_test"][0]["exp_alerts"]) for c in cases} == {True, False}


def test_an_alert_that_cannot_fire_fails_its_unit_test(promtool: Path, tmp_path: Path) -> None:
    """The tests can fail: rules with a 90 % error threshold miss the 50 % failing case."""
    write(tmp_path, observability_files())
    lax = observability_files(AlertThresholds(error_ratio=0.9))
    (tmp_path / RULES).write_text(lax[RULES])
    tested = promtool_run(promtool, "test", "rules", tmp_path / RULES_TEST)
    assert tested.returncode != 0
    assert "ModelyardHighErrorRatio" in tested.stdout + tested.stderr


def test_thresholds_reach_the_rules_and_their_tests(promtool: Path, tmp_path: Path) -> None:
    strict = AlertThresholds(
        latency_p95_seconds=0.05, quality_floors=(("f1", 0.7), ("accuracy", 0.9))
    )
    write(tmp_path, observability_files(strict))
    rules = (tmp_path / RULES).read_text()
    assert "p95_rate5m > 0.05" in rules
    assert 'metric="f1"' in rules
    assert 'metric="accuracy"' in rules
    tested = promtool_run(promtool, "test", "rules", tmp_path / RULES_TEST)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_signal_alerts_follow_their_thresholds(promtool: Path, tmp_path: Path) -> None:
    """Other floors, shares, row minimums and a longer wait reach the rules, and their own
    tests (fire and stay quiet) still pass: the cases are built from the thresholds."""
    tuned = AlertThresholds(
        estimated_floors=(("f1", 0.9), ("roc_auc", 0.75)),
        estimated_minutes=60,
        data_quality_share=0.02,
        segment_floors=(("estimated_accuracy", 0.6),),
        segment_min_rows=500,
    )
    write(tmp_path, observability_files(tuned))
    alerts = yaml.safe_load((tmp_path / RULES).read_text())["groups"][1]["rules"]
    estimated = [a for a in alerts if a["alert"] == "ModelyardEstimatedQualityBelowFloor"]
    assert [a["for"] for a in estimated] == ["60m", "60m"]
    assert 'metric="f1",bound="value"})\n< 0.9' in estimated[0]["expr"]
    assert 'metric="roc_auc",bound="value"})\n< 0.75' in estimated[1]["expr"]
    [quality] = [a["expr"] for a in alerts if a["alert"] == "ModelyardDataQuality"]
    assert quality.endswith("(modelyard_feature_quality) > 0.02")
    [segment] = [a["expr"] for a in alerts if a["alert"] == "ModelyardSegmentQualityBelowFloor"]
    assert 'metric="estimated_accuracy"})\n< 0.6' in segment
    assert segment.endswith("(modelyard_segment_rows) >= 500")
    tested = promtool_run(promtool, "test", "rules", tmp_path / RULES_TEST)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_signal_alerts_fail_their_tests_when_they_cannot_fire(
    promtool: Path, tmp_path: Path
) -> None:
    """Each new alert's test can fail: rules laxer than the tests expect miss the firing case."""
    write(tmp_path, observability_files())
    lax = AlertThresholds(
        estimated_floors=(("accuracy", 0.01),),
        data_quality_share=0.99,
        segment_floors=(("accuracy", 0.01),),
    )
    (tmp_path / RULES).write_text(observability_files(lax)[RULES])
    tested = promtool_run(promtool, "test", "rules", tmp_path / RULES_TEST)
    assert tested.returncode != 0
    out = tested.stdout + tested.stderr
    for name in (
        "ModelyardEstimatedQualityBelowFloor",
        "ModelyardDataQuality",
        "ModelyardSegmentQualityBelowFloor",
    ):
        assert name in out
    assert "ModelyardPredictionLogDropping" not in out


def test_every_dashboard_expression_parses(promtool: Path, tmp_path: Path) -> None:
    exprs = [e for per in (False, True) for e in expressions(dashboard(per_endpoint=per))]
    exprs = [e.replace("$__rate_interval", "5m").replace("$endpoint", "churn-api") for e in exprs]
    rules = {
        "groups": [
            {
                "name": "dashboard-expressions",
                "rules": [
                    {"record": f"dashboard:expr_{i}", "expr": e} for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    checked = promtool_run(promtool, "check", "rules", path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in checked.stdout
    path.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "x",
                        "rules": [
                            {
                                "record": "dashboard:broken",
                                "expr": "sum by (endpoint (modelyard_queue_rows)",
                            }
                        ],
                    }
                ]
            }
        )
    )
    assert promtool_run(promtool, "check", "rules", path).returncode != 0


def test_the_scrape_config_loads_the_rules(promtool: Path, tmp_path: Path) -> None:
    write(tmp_path, observability_files(rules_path="rules.yml", targets=("127.0.0.1:8000",)))
    checked = promtool_run(promtool, "check", "config", tmp_path / "prometheus/prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 18 rules found" in checked.stdout
