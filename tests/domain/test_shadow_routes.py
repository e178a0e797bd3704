"""Shadow routes: a copy of answered traffic, never a share of the answers."""

from __future__ import annotations

import pytest

from modelyard.domain.endpoints import (
    MAX_SHADOWS,
    Endpoint,
    Route,
    shadow_label,
    shadowed_ref,
)
from modelyard.errors import InvalidInput


def test_shadows_are_apart_from_the_routes_that_answer() -> None:
    endpoint = Endpoint(
        "api", (Route("a@1", 90), Route("a@2", 10, "canary"), Route("a@3", 25, "shadow"))
    )
    assert [r.model for r in endpoint.serving_routes] == ["a@1", "a@2"]
    assert [(r.model, r.weight) for r in endpoint.shadows] == [("a@3", 25)]
    assert Endpoint.from_spec("api", endpoint.spec()).shadows == endpoint.shadows


def test_a_shadow_cannot_also_answer_callers() -> None:
    with pytest.raises(InvalidInput, match="a@1 is a shadow and answers callers too"):
        Endpoint("api", (Route("a@1", 100), Route("a@1", 100, "shadow")))


def test_at_most_three_shadows() -> None:
    shadows = tuple(Route(f"a@{i}", 100, "shadow") for i in range(2, MAX_SHADOWS + 3))
    with pytest.raises(InvalidInput, match=f"at most {MAX_SHADOWS} shadows, not 4"):
        Endpoint("api", (Route("a@1", 100), *shadows))


def test_a_shadow_alone_serves_nobody() -> None:
    with pytest.raises(InvalidInput, match="needs a primary route"):
        Endpoint("api", (Route("a@1", 100, "shadow"),))


def test_shadow_answers_carry_a_label_no_version_can_have() -> None:
    assert shadow_label("churn@5") == "churn@5~shadow"
    assert shadowed_ref("churn@5~shadow") == "churn@5"
    assert shadowed_ref("churn@5") is None
