"""One rule for who may set an endpoint's routes, whoever asks: on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from tests.control.conftest import add_churn_api

from modelyard import Yard
from modelyard.domain.endpoints import Route
from modelyard.errors import Conflict

SPLIT = [Route("churn@production", 80.0), Route("churn@2", 20.0)]


@pytest.fixture
def churn(yard: Yard, logreg, forest, cancer) -> Yard:
    return add_churn_api(yard, logreg, forest, cancer)


def _claimants(yard: Yard) -> dict[str, object]:
    """Every way to change the routes; each is tried while someone else owns them."""
    return {
        "routes by hand": lambda: yard.set_routes("churn-api", SPLIT),
        "a rollout": lambda: yard.start_rollout("churn-api", "churn@2"),
        "an A/B test": lambda: yard.start_abtest("churn-api", "churn@production", "churn@2"),
    }


@pytest.mark.parametrize("owner", ["a rollout", "an A/B test"])
def test_while_a_rollout_or_test_owns_the_routes_every_other_change_is_refused(
    churn: Yard, owner: str
) -> None:
    _claimants(churn)[owner]()  # type: ignore[operator]
    routes_then = churn.get_endpoint("churn-api").routes
    kind = "rollout" if owner == "a rollout" else "A/B test"
    for name, claim in _claimants(churn).items():
        with pytest.raises(Conflict, match=f"{kind} \\d+ owns the routes of 'churn-api'"):
            claim()  # type: ignore[operator]
        assert churn.get_endpoint("churn-api").routes == routes_then, name


def test_once_the_owner_is_done_routes_may_change_again(churn: Yard) -> None:
    churn.start_abtest("churn-api", "churn@production", "churn@2")
    churn.stop_abtest("churn-api")
    churn.start_rollout("churn-api", "churn@2")
    churn.abort_rollout("churn-api")
    endpoint = churn.set_routes("churn-api", SPLIT)
    assert [r.weight for r in endpoint.routes] == [80.0, 20.0]
