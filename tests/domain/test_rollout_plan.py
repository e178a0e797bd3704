from datetime import timedelta

import pytest

from modelyard.domain.endpoints import Endpoint, Route
from modelyard.domain.rollouts import RolloutPlan, parse_checks, parse_interval, parse_steps
from modelyard.errors import InvalidInput


def _plan(**changes: object) -> RolloutPlan:
    values: dict[str, object] = {
        "endpoint": "churn-api",
        "candidate": "churn@4",
        "baseline": "churn@3",
        "baseline_route": "churn@production",
        "steps": (5, 50, 100),
        "interval": timedelta(minutes=10),
        "checks": parse_checks(["error_rate<0.01", "accuracy>=baseline-0.02"]),
        "alias": "production",
        "original_routes": (Route("churn@production"),),
        "shadows": (Route("churn@5", 100.0, "shadow"),),
    }
    values.update(changes)
    return RolloutPlan(**values)  # type: ignore[arg-type]


def test_each_step_splits_between_baseline_and_candidate_and_keeps_shadows() -> None:
    plan = _plan()
    assert [(r.model, r.weight, r.role) for r in plan.routes_at(0)] == [
        ("churn@production", 95.0, "primary"),
        ("churn@4", 5.0, "canary"),
        ("churn@5", 100.0, "shadow"),
    ]
    full = plan.routes_at(2)
    assert [(r.model, r.weight) for r in full[:2]] == [
        ("churn@4", 100.0),
        ("churn@production", 0.0),
    ]
    for step in range(3):  # every step is a valid endpoint
        Endpoint("churn-api", plan.routes_at(step))


def test_the_end_hands_the_endpoint_to_the_alias_or_the_candidate() -> None:
    assert [r.model for r in _plan().final_routes()] == ["churn@production", "churn@5"]
    pinned = _plan(baseline_route="churn@3", alias=None, shadows=())
    assert [r.model for r in pinned.final_routes()] == ["churn@4"]


def test_the_plan_survives_its_stored_form() -> None:
    plan = _plan()
    assert RolloutPlan.from_spec(plan.spec()) == plan


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "expected percentages"),
        ("5,x", "expected percentages"),
        ("50,10", "must grow"),
        ("0,50", "from 1 to 100"),
        ("5,101", "from 1 to 100"),
        (",".join(str(i) for i in range(1, 30)), "1 to 20 steps"),
    ],
)
def test_bad_steps(text: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        parse_steps(text)


def test_bad_plans() -> None:
    with pytest.raises(InvalidInput, match="nothing to roll out"):
        _plan(candidate="churn@3")
    with pytest.raises(InvalidInput, match="min_rows"):
        _plan(min_rows=0)
    with pytest.raises(InvalidInput, match="at most 7d"):
        parse_interval("8d")
    assert parse_steps("5, 25,100") == (5, 25, 100)
