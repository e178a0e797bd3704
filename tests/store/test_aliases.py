"""Refused alias moves are audited, on SQLite and PostgreSQL: the compare-and-set raises,
and the refusal survives the rolled-back transaction as an ``alias.refused`` event."""

from __future__ import annotations

import pytest

from modelyard import Conflict, Yard
from modelyard.errors import AliasMoved


@pytest.fixture
def churn(yard: Yard, logreg, cancer) -> Yard:
    X, _ = cancer
    for _ in range(3):
        yard.register(logreg, "churn", sample=X.iloc[:20])
    yard.set_alias("churn", "production", 1)
    yard.set_alias("churn", "production", 2)
    return yard


def test_a_stale_set_alias_is_refused_and_audited(churn: Yard) -> None:
    with pytest.raises(AliasMoved, match="churn@production points at version 2, not 1") as info:
        churn.acting_as("alice").set_alias("churn", "production", 3, reason="go", expect=1)
    assert (info.value.expected, info.value.actual) == (1, 2)
    refused = churn.audit(target="churn@production", action="alias.refused")
    assert len(refused) == 1
    assert refused[0].actor == "alice"
    assert refused[0].details == {
        "move": "set",
        "to": 3,
        "expected": 1,
        "actual": 2,
        "reason": "go",
        "error": "churn@production points at version 2, not 1 as expected; nothing changed",
    }
    assert churn.get_version("churn@production").version == 2


def test_a_stale_rollback_and_an_unset_expectation_are_audited(churn: Yard) -> None:
    with pytest.raises(Conflict, match="not 1 as expected"):
        churn.rollback("churn", expect=1)
    with pytest.raises(Conflict, match="churn@staging is not set, not 2 as expected"):
        churn.set_alias("churn", "staging", 2, expect=2)
    with pytest.raises(Conflict, match="points at version 2, not unset"):
        churn.set_alias("churn", "production", 3, expect=0)
    found = [
        (e.target, e.details["move"], e.details["expected"], e.details["actual"])
        for e in churn.audit(action="alias.refused")
    ]
    assert found == [
        ("churn@production", "set", 0, 2),
        ("churn@staging", "set", 2, None),
        ("churn@production", "rollback", 1, 2),
    ]


def test_moves_without_expect_and_other_conflicts_are_not_refusals(churn: Yard) -> None:
    churn.set_alias("churn", "production", 3)
    churn.archive("churn", 1)
    with pytest.raises(Conflict, match="unarchive it"):
        churn.set_alias("churn", "production", 1, expect=3)
    assert churn.audit(action="alias.refused") == []
