"""``modelyard promote``: exit codes, the printed report, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.dummy import DummyClassifier

from modelyard import Yard
from tests.cli.conftest import Invoke, assert_one_line_error


@pytest.fixture
def yard_with_two(tmp_path: Path, cli: Invoke, logreg, cancer) -> Path:
    """churn@1 (logistic regression) in production, churn@2 a constant guesser, and a
    labelled holdout file."""
    X, y = cancer
    with Yard(tmp_path / "home") as yard:
        yard.register(logreg, "churn", sample=X)
        yard.set_alias("churn", "production", 1)
        yard.register(DummyClassifier().fit(X, y), "churn", sample=X)
        yard.register(logreg, "churn", sample=X)
    holdout = tmp_path / "holdout.parquet"
    X.assign(label=y).to_parquet(holdout)
    return holdout


def test_a_failed_gate_exits_1_and_moves_nothing(cli: Invoke, yard_with_two: Path) -> None:
    result = cli("promote", "churn", "2", "--holdout", str(yard_with_two))
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output
    assert "not moved" in result.output
    shown = cli("alias", "show", "churn", "--json")
    assert json.loads(shown.output)["production"] == 1


def test_a_passing_candidate_is_promoted(cli: Invoke, yard_with_two: Path) -> None:
    result = cli("promote", "churn", "3", "--holdout", str(yard_with_two), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["passed"] is True
    assert report["champion"] == "churn@1"
    assert [c["name"] for c in report["checks"]] == ["data", "metrics", "robustness", "latency"]
    assert report["moved"]["to_version"] == 3


def test_force_with_a_reason_moves_past_a_failed_gate(cli: Invoke, yard_with_two: Path) -> None:
    args = ["promote", "churn", "2", "--holdout", str(yard_with_two), "--force"]
    assert_one_line_error(cli(*args), 2, "needs a reason")
    result = cli(*args, "--reason", "incident 7")
    assert result.exit_code == 0, result.output
    assert "forced" in result.output
    audit = json.loads(cli("audit", "--target", "churn", "--json").output)
    assert any(e["action"] == "gate.forced" for e in audit)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["churn", "9"], 3, "not found"),
        (["churn", "2", "--holdout", "missing.parquet"], 3, "no such file"),
        (["churn", "2", "--label", "nope", "--holdout", "HOLDOUT"], 2, "label column"),
        (["churn", "2", "--tolerance", "3"], 2, "tolerance"),
        (["churn", "2", "--latency-p95-ms", "0"], 2, "latency budget"),
        (["Bad Name", "2"], 2, "invalid model name"),
    ],
)
def test_bad_input_is_one_line(
    cli: Invoke, yard_with_two: Path, args: list[str], code: int, message: str
) -> None:
    args = [str(yard_with_two) if a == "HOLDOUT" else a for a in args]
    assert_one_line_error(cli("promote", *args), code, message)


def test_a_stale_expect_exits_4_before_the_gate_and_is_audited(
    cli: Invoke, yard_with_two: Path
) -> None:
    holdout = ["--holdout", str(yard_with_two)]
    stale = cli("promote", "churn", "3", *holdout, "--expect", "2", "--reason", "from my notes")
    assert_one_line_error(stale, 4, "churn@production points at version 1, not 2 as expected")
    assert_one_line_error(
        cli("alias", "set", "churn", "production", "3", "--expect", "0"), 4, "not unset"
    )
    refused = json.loads(cli("audit", "--action", "alias.refused", "--json").output)
    assert [(e["actor"], e["details"]["move"], e["details"]["expected"]) for e in refused] == [
        ("cli-tester", "set", 0),
        ("cli-tester", "promote", 2),
    ]
    assert not json.loads(cli("audit", "--action", "gate.*", "--json").output)
    assert cli("promote", "churn", "3", *holdout, "--expect", "1").exit_code == 0


def test_check_runs_the_gate_and_moves_nothing(cli: Invoke, yard_with_two: Path) -> None:
    passing = cli("promote", "churn", "3", "--holdout", str(yard_with_two), "--check", "--json")
    assert passing.exit_code == 0, passing.output
    assert json.loads(passing.output)["passed"] is True
    failing = cli("promote", "churn", "2", "--holdout", str(yard_with_two), "--check")
    assert failing.exit_code == 1, failing.output
    assert "nothing moved (--check)" in failing.output
    assert json.loads(cli("alias", "show", "churn", "--json").output)["production"] == 1
    assert_one_line_error(cli("promote", "churn", "3", "--check", "--force"), 2, "--check moves")
