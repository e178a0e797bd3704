from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.cli.conftest import Invoke, assert_one_line_error


def test_writes_rules_dashboards_and_provisioning(cli: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "monitoring"
    result = cli(
        "deploy", "monitoring", str(out), "--target", "10.0.0.5:8000", "--quality-floor", "f1=0.7"
    )
    assert result.exit_code == 0, result.output
    rules = yaml.safe_load((out / "prometheus/rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert "ModelyardQualityBelowFloor" in alerts
    assert 'metric="f1"' in (out / "prometheus/rules.yml").read_text()
    scrape = yaml.safe_load((out / "prometheus/prometheus.yml").read_text())
    assert scrape["scrape_configs"][0]["static_configs"] == [{"targets": ["10.0.0.5:8000"]}]
    board = json.loads((out / "grafana/dashboards/modelyard-endpoint.json").read_text())
    assert board["templating"]["list"][0]["name"] == "endpoint"


def test_refuses_a_folder_that_exists_unless_forced(cli: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "monitoring"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert_one_line_error(cli("deploy", "monitoring", str(out)), 4, "pass --force")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert cli("deploy", "monitoring", str(out), "--force").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["grafana", "prometheus"]


def test_bad_thresholds_are_refused_before_anything_is_written(cli: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "monitoring"
    assert_one_line_error(
        cli("deploy", "monitoring", str(out), "--error-ratio", "5"), 2, "--error-ratio"
    )
    assert_one_line_error(
        cli("deploy", "monitoring", str(out), "--quality-floor", "f1=high"), 2, "--quality-floor"
    )
    assert not out.exists()


def test_the_signal_thresholds_reach_the_rules(cli: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "monitoring"
    result = cli(
        "deploy", "monitoring", str(out),
        "--estimated-floor", "f1=0.85", "--estimated-minutes", "45",
        "--data-quality-share", "0.05",
        "--segment-floor", "estimated_accuracy=0.6", "--segment-min-rows", "250",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rules = yaml.safe_load((out / "prometheus/rules.yml").read_text())["groups"][1]["rules"]
    by_name = {r["alert"]: r for r in rules}
    estimated = by_name["ModelyardEstimatedQualityBelowFloor"]
    assert 'metric="f1"' in estimated["expr"]
    assert estimated["expr"].endswith("< 0.85")
    assert estimated["for"] == "45m"
    assert by_name["ModelyardDataQuality"]["expr"].endswith("> 0.05")
    segment = by_name["ModelyardSegmentQualityBelowFloor"]["expr"]
    assert 'metric="estimated_accuracy"' in segment
    assert segment.endswith(">= 250")
    assert "ModelyardPredictionLogDropping" in by_name


def test_bad_signal_thresholds_are_refused(cli: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "monitoring"
    for args, code, words in (
        (("--estimated-floor", "mae=0.5"), 2, "--estimated-floor"),
        (("--estimated-floor", "f1=1.5"), 2, "(0, 1]"),
        (("--segment-floor", "rmse=0.5"), 2, "--segment-floor"),
        (("--data-quality-share", "0"), 2, "--data-quality-share"),
    ):
        assert_one_line_error(cli("deploy", "monitoring", str(out), *args), code, words)
    assert cli("deploy", "monitoring", str(out), "--segment-min-rows", "0").exit_code != 0
    assert not out.exists()
