from pathlib import Path

import orjson

from tests.cli.conftest import Invoke, assert_one_line_error


def test_demo_registers_two_versions_and_gates_v1_into_production(
    cli: Invoke, tmp_path: Path
) -> None:
    home = tmp_path / "demo"
    result = cli("demo", "--home", str(home), "--offline", "--json")
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.output)
    assert summary["versions"] == ["churn@1", "churn@2"]
    assert summary["production"] == "churn@1"  # through the gate; v2 is the canary later
    assert "live" not in summary  # --offline: no server
    audit = orjson.loads(cli("--home", str(home), "audit", "--json").output)
    assert "gate.pass" in [e["action"] for e in audit]
    lineage = orjson.loads(cli("--home", str(home), "lineage", "churn@production", "--json").output)
    assert lineage["datasets"][0]["ref"] == "cancer-train@1"
    assert lineage["run"]["status"] == "finished"


def test_demo_runs_again_on_its_own_home(cli: Invoke, tmp_path: Path) -> None:
    home = tmp_path / "demo"
    assert cli("demo", "--home", str(home), "--offline", "--json").exit_code == 0
    again = cli("demo", "--home", str(home), "--offline", "--json")
    assert again.exit_code == 0, again.output
    assert orjson.loads(again.output)["versions"] == ["churn@1", "churn@2"]


def test_demo_refuses_a_folder_that_is_not_a_yard(cli: Invoke, tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("do not delete")
    assert_one_line_error(cli("demo", "--home", str(precious)), 4, "was not made by")
    assert (precious / "thesis.tex").exists()


def test_demo_never_wipes_a_real_yard(cli: Invoke, tmp_path: Path) -> None:
    from modelyard import Yard

    real = tmp_path / "real"
    Yard(real).close()
    assert_one_line_error(cli("demo", "--home", str(real)), 4, "was not made by")
    assert (real / "yard.db").exists()
