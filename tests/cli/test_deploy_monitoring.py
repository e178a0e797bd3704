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
