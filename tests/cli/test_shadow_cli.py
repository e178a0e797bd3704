"""``endpoint routes --shadow``: start, show and stop a shadow; bad input is one line."""

from __future__ import annotations

import orjson
import pytest
import skops.io as sio

from tests.cli.conftest import Invoke, assert_one_line_error


@pytest.fixture
def two_versions(cli: Invoke, tmp_path, logreg) -> Invoke:
    model = tmp_path / "m.skops"
    sio.dump(logreg, model)
    for _ in range(2):
        assert cli("register", str(model), "--name", "churn").exit_code == 0
    assert cli("alias", "set", "churn", "production", "1").exit_code == 0
    assert cli("endpoint", "create", "churn-api", "--model", "churn@production").exit_code == 0
    return cli


def test_a_shadow_starts_and_stops_with_the_routes(two_versions: Invoke) -> None:
    cli = two_versions
    started = cli(
        "endpoint", "routes", "churn-api", "--route", "churn@production=100", "--shadow", "churn@2"
    )
    assert started.exit_code == 0, started.output
    assert "shadow churn@2" in started.output
    shown = orjson.loads(cli("endpoint", "show", "churn-api", "--json").output)
    routes = [(r["model"], r["weight"], r["role"]) for r in shown["endpoint"]["routes"]]
    assert routes == [("churn@production", 100, "primary"), ("churn@2", 100, "shadow")]
    sampled = cli("endpoint", "routes", "churn-api", "-r", "churn@1=100", "--shadow", "churn@2=25")
    assert "25% mirrored" in sampled.output
    stopped = cli("endpoint", "routes", "churn-api", "--route", "churn@production=100", "--json")
    assert [r["role"] for r in orjson.loads(stopped.output)["routes"]] == ["primary"]


@pytest.mark.parametrize(
    ("shadow", "code", "message"),
    [
        ("churn@production", 2, "is a shadow and answers callers too"),
        ("churn@2=200", 2, "expected REF or REF=PERCENT"),
        ("churn@9", 3, "churn@9"),
        ("Not A Ref", 2, "invalid model name"),
    ],
)
def test_bad_shadows_are_one_line_errors(
    two_versions: Invoke, shadow: str, code: int, message: str
) -> None:
    result = two_versions(
        "endpoint", "routes", "churn-api", "--route", "churn@production=100", "--shadow", shadow
    )
    assert_one_line_error(result, code, message)


def test_more_than_three_shadows_are_refused(two_versions: Invoke) -> None:
    for alias in ("staging", "candidate"):
        assert two_versions("alias", "set", "churn", alias, "2").exit_code == 0
    refs = ("churn@2", "churn", "churn@staging", "churn@candidate")  # all resolve
    shadows = [a for ref in refs for a in ("--shadow", ref)]
    result = two_versions("endpoint", "routes", "churn-api", "-r", "churn@1=100", *shadows)
    assert_one_line_error(result, 2, "at most 3 shadows")


def test_a_rollout_of_the_version_in_shadow_says_to_drop_the_shadow_first(
    two_versions: Invoke,
) -> None:
    shadowing = ("endpoint", "routes", "churn-api", "-r", "churn@production=100")
    assert two_versions(*shadowing, "--shadow", "churn@2").exit_code == 0
    result = two_versions("rollout", "start", "churn-api", "-c", "churn@2")
    assert_one_line_error(result, 4, "set the routes without that shadow")
    assert two_versions(*shadowing).exit_code == 0
    assert two_versions("rollout", "start", "churn-api", "-c", "churn@2").exit_code == 0
