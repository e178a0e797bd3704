"""``modelyard rollout|policy|abtest|controller``: what they print, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.dummy import DummyClassifier

from modelyard import Yard
from tests.cli.conftest import Invoke, assert_one_line_error


@pytest.fixture
def churn_api(tmp_path: Path, logreg, cancer) -> None:
    X, y = cancer
    with Yard(tmp_path / "home") as yard:
        yard.register(logreg, "churn", sample=X)
        yard.register(DummyClassifier().fit(X, y), "churn", sample=X)
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production")


@pytest.mark.usefixtures("churn_api")
def test_a_rollout_from_start_to_abort(cli: Invoke) -> None:
    started = cli(
        "rollout", "start", "churn-api", "--candidate", "churn@2", "--steps", "10,100",
        "--interval", "30s", "--check", "error_rate<0.01", "--check", "accuracy>=baseline-0.02",
    )  # fmt: skip
    assert started.exit_code == 0, started.output
    assert "churn@2 vs churn@1" in started.output
    assert "10%" in started.output
    assert "paused" in cli("rollout", "pause", "churn-api").output
    assert "resumed" in cli("rollout", "resume", "churn-api").output
    ticked = cli("controller", "--once")
    assert ticked.exit_code == 0
    assert "ticked" in ticked.output
    status = json.loads(cli("rollout", "status", "churn-api", "--json").output)
    assert status["state"] == "running"
    assert "0 of 100 rows" in status["message"]
    assert [h["action"] for h in status["history"]][-1] == "rollout.start"
    aborted = cli("rollout", "abort", "churn-api", "--reason", "not today")
    assert "aborted" in aborted.output
    assert "not today" in aborted.output
    shown = json.loads(cli("endpoint", "show", "churn-api", "--json").output)
    routes = shown["endpoint"]["routes"]
    assert [r["weight"] for r in routes] == [100.0]


@pytest.mark.usefixtures("churn_api")
@pytest.mark.parametrize(
    ("args", "code", "match"),
    [
        (["--candidate", "churn@2", "--check", "latency<5"], 2, "unknown metric 'latency'"),
        (["--candidate", "churn@2", "--steps", "50,10"], 2, "steps must grow"),
        (["--candidate", "churn@2", "--interval", "soon"], 2, "expected a whole number"),
        (["--candidate", "churn@1"], 2, "nothing to roll out"),
        (["--candidate", "churn@9"], 3, "not found"),
        (["--candidate", "churn@2", "--min-rows", "0"], 2, "min_rows"),
        (["--candidate", "churn@2", "--alert", "ftp://x"], 2, "http(s) URL"),
        (["--candidate", "churn@2", "--alert", "http://10.0.0.1/"], 2, "10.0.0.1 is a private"),
    ],
)
def test_bad_rollouts_are_refused_in_one_line(
    cli: Invoke, args: list[str], code: int, match: str
) -> None:
    assert_one_line_error(cli("rollout", "start", "churn-api", *args), code, match)


@pytest.mark.usefixtures("churn_api")
def test_rollout_commands_without_a_rollout(cli: Invoke) -> None:
    assert_one_line_error(cli("rollout", "status", "churn-api"), 3, "has no rollout")
    assert_one_line_error(cli("rollout", "abort", "churn-api"), 3, "no rollout in progress")
    assert_one_line_error(cli("rollout", "pause", "nope"), 3, "endpoint 'nope' not found")


@pytest.mark.usefixtures("churn_api")
def test_policies_are_added_listed_and_removed(cli: Invoke) -> None:
    added = cli(
        "policy", "add", "churn-api", "--when", "drift_share>0.3 for 15m", "--then", "rollback",
        "--then", "alert:https://hooks.example/ml", "--cooldown", "1h",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "policy 1 on churn-api" in added.output
    listed = json.loads(cli("policy", "list", "--json").output)
    assert listed[0]["then"] == ["rollback", "alert:https://hooks.example/ml"]
    assert listed[0]["cooldown_seconds"] == 3600
    assert listed[0]["state"] == "armed"
    assert "removed" in cli("policy", "remove", "1").output
    history = json.loads(cli("policy", "history", "churn-api", "--json").output)
    assert [h["action"] for h in history] == ["policy.remove", "policy.add"]
    assert_one_line_error(cli("policy", "remove", "1"), 3, "policy 1 not found")


@pytest.mark.usefixtures("churn_api")
@pytest.mark.parametrize(
    ("args", "code", "match"),
    [
        (["--when", "drift_share>0.3", "--then", "explode"], 2, "unknown kind 'explode'"),
        (["--when", "drift_share>>0.3", "--then", "rollback"], 2, "expected METRIC OP"),
        (["--when", "accuracy<baseline", "--then", "rollback"], 2, "rollout checks"),
        (["--when", "error_rate>0.1", "--then", "run:"], 2, "needs a command"),
        (["--when", "error_rate>0.1", "--then", "rollback", "--window", "0m"], 2, "period"),
        (["--when", "error_rate>0.1", "--then", "alert:http://127.0.0.1:8/"], 2, "loopback"),
    ],
)
def test_bad_policies_are_refused_in_one_line(
    cli: Invoke, args: list[str], code: int, match: str
) -> None:
    assert_one_line_error(cli("policy", "add", "churn-api", *args), code, match)


@pytest.mark.usefixtures("churn_api")
def test_an_ab_test_starts_reports_and_stops(cli: Invoke) -> None:
    started = cli(
        "abtest", "start", "churn-api", "--a", "churn@production", "--b", "churn@2",
        "--split", "20", "--sticky-key", "user_id", "--metric", "accuracy",
    )  # fmt: skip
    assert started.exit_code == 0, started.output
    assert "B churn@2 20%" in started.output
    assert "pinned by user_id" in started.output
    report = json.loads(cli("abtest", "report", "churn-api", "--json").output)
    assert report["arms"]["a"]["n"] == 0
    assert report["p_value"] is None
    assert any("no outcomes" in w for w in report["warnings"])
    stopped = cli("abtest", "stop", "churn-api", "--promote")
    assert stopped.exit_code == 0
    assert "nothing promoted" in stopped.output
    assert_one_line_error(cli("abtest", "stop", "churn-api"), 4, "already stopped")


@pytest.mark.usefixtures("churn_api")
@pytest.mark.parametrize(
    ("args", "code", "match"),
    [
        (["--a", "churn@production", "--b", "churn@1"], 2, "the same version"),
        (["--a", "churn@production", "--b", "churn@2", "--split", "0"], 2, "split"),
        (["--a", "churn@production", "--b", "churn@2", "--metric", "vibes"], 2, "unknown A/B"),
        (["--a", "churn@production", "--b", "churn@7"], 3, "not found"),
    ],
)
def test_bad_ab_tests_are_refused_in_one_line(
    cli: Invoke, args: list[str], code: int, match: str
) -> None:
    assert_one_line_error(cli("abtest", "start", "churn-api", *args), code, match)


@pytest.mark.usefixtures("churn_api")
def test_the_controller_refuses_a_silly_interval(cli: Invoke) -> None:
    assert_one_line_error(cli("controller", "--interval", "0"), 2, "--interval")
    assert_one_line_error(cli("abtest", "report", "churn-api", "--alpha", "2"), 2, "alpha")
