"""Many references resolved at once give what resolving each alone gives, in a handful of
queries however many: on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from modelyard import Yard
from modelyard.errors import YardError
from modelyard.store.resolving import resolve_many

REFS = [
    "churn",
    "churn@1",
    "churn@2",
    "churn@production",
    "churn@9",
    "churn@staging",
    "fraud",
    "fraud@1",
    "retired",
    "nobody",
    "Not A Ref",
]


@pytest.fixture
def registered(yard: Yard, logreg, cancer) -> Yard:
    X, _ = cancer
    for name, count in (("churn", 2), ("fraud", 1), ("retired", 1)):
        for _ in range(count):
            yard.register(logreg, name, sample=X.iloc[:20])
    yard.set_alias("churn", "production", 1)
    yard.archive("retired", 1)
    return yard


def _alone(yard: Yard, ref: str) -> object:
    try:
        return yard.get_version(ref)
    except YardError as exc:
        return (type(exc), str(exc))


def test_each_reference_gets_what_resolving_it_alone_gives(registered: Yard) -> None:
    together = resolve_many(registered.stores.db, REFS)
    assert set(together) == set(REFS)
    for ref in REFS:
        got = together[ref]
        expected = _alone(registered, ref)
        assert (got if not isinstance(got, YardError) else (type(got), str(got))) == expected, ref


def test_the_queries_do_not_grow_with_the_references(registered: Yard, logreg, cancer) -> None:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    def queries(refs: list[str]) -> int:
        statements.clear()
        event.listen(registered.stores.db.engine, "before_cursor_execute", count)
        try:
            resolved = resolve_many(registered.stores.db, refs)
        finally:
            event.remove(registered.stores.db.engine, "before_cursor_execute", count)
        assert not any(isinstance(v, YardError) for v in resolved.values())
        return len(statements)

    few = queries(["churn@1", "fraud"])
    X, _ = cancer
    for _ in range(10):
        registered.register(logreg, "fraud", sample=X.iloc[:20])
    many = queries([f"fraud@{n}" for n in range(1, 12)] + ["churn@production", "churn"])
    assert few == many <= 8
