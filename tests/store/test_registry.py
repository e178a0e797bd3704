"""The registry contract, on SQLite and on PostgreSQL: versions, aliases, lifecycle, audit."""

from __future__ import annotations

import pytest

from modelyard import Conflict, InvalidInput, NotFound, VersionStatus, Yard


@pytest.fixture
def register(yard: Yard, logreg, cancer):
    X, _ = cancer

    def _register(name: str = "churn", count: int = 1) -> list[int]:
        return [yard.register(logreg, name, sample=X.iloc[:20]).version for _ in range(count)]

    return _register


def test_versions_are_numbered_per_model(register) -> None:
    assert register("churn", 3) == [1, 2, 3]
    assert register("fraud", 2) == [1, 2]
    assert register("churn") == [4]


def test_list_models_and_versions(yard: Yard, register) -> None:
    register("fraud")
    register("churn", 2)
    yard.set_alias("churn", "production", 1)
    models = yard.list_models()
    assert [(m.name, m.latest_version, m.aliases) for m in models] == [
        ("churn", 2, {"production": 1}),
        ("fraud", 1, {}),
    ]
    versions = yard.list_versions("churn")
    assert [(v.ref, v.aliases, v.status) for v in versions] == [
        ("churn@1", ("production",), VersionStatus.READY),
        ("churn@2", (), VersionStatus.READY),
    ]


def test_latest_version_is_the_highest_ready_one(yard: Yard, register) -> None:
    register("churn", 3)
    yard.archive("churn", 3)
    yard.delete_version("churn", 2)
    model = yard.get_model("churn")
    assert (model.latest_version, model.versions) == (1, 2)
    assert yard.list_models()[0].latest_version == 1
    assert register("churn") == [4]


def test_get_version_records_what_was_registered(yard: Yard, register, cancer) -> None:
    register()
    version = yard.get_version("churn@1")
    assert (version.flavor, version.created_by) == ("sklearn", "tester")
    assert {f.name for f in version.files} == {"model.skops", "reference.parquet"}
    assert [f["name"] for f in version.signature["inputs"]] == list(cancer[0].columns)


def test_resolve_latest_alias_and_number(yard: Yard, register) -> None:
    register("churn", 3)
    yard.set_alias("churn", "production", 2)
    assert yard.get_version("churn").version == 3
    assert yard.get_version("churn@production").version == 2
    assert yard.get_version("churn@1").version == 1
    assert yard.get_version("churn", 1).version == 1
    with pytest.raises(InvalidInput, match="not both"):
        yard.get_version("churn@2", 1)


def test_latest_skips_archived_versions(yard: Yard, register) -> None:
    register("churn", 2)
    yard.archive("churn", 2, reason="bad calibration")
    assert yard.get_version("churn").version == 1
    assert yard.get_version("churn@2").status == VersionStatus.ARCHIVED
    yard.archive("churn", 1)
    with pytest.raises(NotFound, match="model 'churn' has no ready version"):
        yard.get_version("churn")


def test_set_alias_history_and_audit(yard: Yard, register) -> None:
    register("churn", 2)
    first = yard.set_alias("churn", "production", 1, reason="first release")
    second = yard.set_alias("churn", "production", 2, reason="better recall")
    assert (first.from_version, first.to_version, first.kind) == (None, 1, "set")
    assert (second.from_version, second.to_version) == (1, 2)
    history = yard.alias_history("churn", "production")
    assert [(e.to_version, e.actor, e.reason) for e in history] == [
        (1, "tester", "first release"),
        (2, "tester", "better recall"),
    ]
    event = yard.audit(target="churn", action="alias.set")[0]
    assert (event.actor, event.target) == ("tester", "churn@production")
    assert event.details == {"from": 1, "to": 2, "reason": "better recall"}


def test_alias_history_across_aliases(yard: Yard, register) -> None:
    register("churn", 2)
    yard.set_alias("churn", "production", 1)
    yard.set_alias("churn", "staging", 2)
    assert [(e.alias, e.to_version) for e in yard.alias_history("churn")] == [
        ("production", 1),
        ("staging", 2),
    ]


def test_expect_is_compare_and_set(yard: Yard, register) -> None:
    register("churn", 3)
    yard.set_alias("churn", "production", 1)
    with pytest.raises(Conflict, match=r"churn@production points at version 1, not 2 as expected"):
        yard.set_alias("churn", "production", 3, expect=2)
    assert yard.get_version("churn@production").version == 1
    assert len(yard.alias_history("churn", "production")) == 1
    yard.set_alias("churn", "production", 3, expect=1)
    assert yard.get_version("churn@production").version == 3


def test_expect_on_an_unset_alias(yard: Yard, register) -> None:
    register()
    with pytest.raises(Conflict, match="churn@production is not set, not 1 as expected"):
        yard.set_alias("churn", "production", 1, expect=1)
    with pytest.raises(NotFound, match="alias churn@production does not exist"):
        yard.get_version("churn@production")


def test_rollback_walks_back_through_earlier_targets(yard: Yard, register) -> None:
    register("churn", 3)
    for version in (1, 2, 3):
        yard.set_alias("churn", "production", version)
    event = yard.rollback("churn", "production", reason="latency")
    assert (event.from_version, event.to_version, event.kind) == (3, 2, "rollback")
    assert yard.rollback("churn").to_version == 1
    with pytest.raises(Conflict, match="churn@production has no earlier target to roll back to"):
        yard.rollback("churn")
    assert yard.get_version("churn@production").version == 1


def test_rollback_with_expect(yard: Yard, register) -> None:
    register("churn", 2)
    yard.set_alias("churn", "production", 1)
    yard.set_alias("churn", "production", 2)
    with pytest.raises(Conflict, match="points at version 2, not 1 as expected"):
        yard.rollback("churn", expect=1)
    assert yard.rollback("churn", expect=2).to_version == 1


def test_rollback_skips_archived_versions(yard: Yard, register) -> None:
    register("churn", 3)
    for version in (1, 2, 3):
        yard.set_alias("churn", "production", version)
    yard.archive("churn", 2)
    assert yard.rollback("churn").to_version == 1


def test_rollback_of_an_unset_or_deleted_alias(yard: Yard, register) -> None:
    register("churn", 2)
    with pytest.raises(NotFound, match="alias churn@production does not exist"):
        yard.rollback("churn")
    yard.set_alias("churn", "production", 1)
    yard.set_alias("churn", "production", 2)
    assert yard.delete_alias("churn", "production").kind == "delete"
    yard.set_alias("churn", "production", 1)
    with pytest.raises(Conflict, match="no earlier target"):
        yard.rollback("churn")


def test_archive_is_refused_while_aliased(yard: Yard, register) -> None:
    register()
    yard.set_alias("churn", "production", 1)
    with pytest.raises(Conflict, match="cannot archive churn@1: alias churn@production points"):
        yard.archive("churn", 1)
    assert yard.get_version("churn@1").status == VersionStatus.READY


def test_aliasing_an_archived_version_is_refused(yard: Yard, register) -> None:
    register("churn", 2)
    yard.archive("churn", 1, reason="old")
    with pytest.raises(Conflict, match="churn@1 is archived; unarchive it"):
        yard.set_alias("churn", "production", 1)
    yard.unarchive("churn", 1)
    assert yard.set_alias("churn", "production", 1).to_version == 1
    actions = [e.action for e in yard.audit(target="churn@1")]
    assert actions[:2] == ["unarchive", "archive"]


def test_delete_version_refused_while_aliased(yard: Yard, register) -> None:
    register()
    yard.set_alias("churn", "staging", 1)
    with pytest.raises(Conflict, match="cannot delete churn@1: alias churn@staging points"):
        yard.delete_version("churn", 1)
    assert yard.get_version("churn@1").version == 1


def test_delete_version(yard: Yard, register) -> None:
    register("churn", 2)
    yard.delete_version("churn", 1, reason="leaked labels")
    with pytest.raises(NotFound, match="version churn@1 not found"):
        yard.get_version("churn@1")
    assert [v.version for v in yard.list_versions("churn")] == [2]
    event = yard.audit(target="churn@1", action="delete")[0]
    assert (event.actor, event.details) == ("tester", {"reason": "leaked labels"})
    assert register() == [3]  # numbers are never reused


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda y: y.get_version("nosuch"), "model 'nosuch' not found"),
        (lambda y: y.get_model("nosuch"), "model 'nosuch' not found"),
        (lambda y: y.list_versions("nosuch"), "model 'nosuch' not found"),
        (lambda y: y.get_version("churn@9"), r"version churn@9 not found"),
        (lambda y: y.get_version("churn@canary"), "alias churn@canary does not exist"),
        (lambda y: y.set_alias("churn", "production", 9), r"version churn@9 not found"),
        (lambda y: y.set_alias("nosuch", "production", 1), "model 'nosuch' not found"),
        (lambda y: y.archive("churn", 9), r"version churn@9 not found"),
        (lambda y: y.delete_version("churn", 9), r"version churn@9 not found"),
        (lambda y: y.delete_alias("churn", "canary"), "alias churn@canary does not exist"),
        (lambda y: y.alias_history("nosuch"), "model 'nosuch' not found"),
    ],
)
def test_unknown_things_are_not_found(yard: Yard, register, call, pattern: str) -> None:
    register()
    with pytest.raises(NotFound, match=pattern):
        call(yard)


def test_invalid_alias_names_are_refused(yard: Yard, register) -> None:
    register()
    with pytest.raises(InvalidInput, match="invalid alias '2'"):
        yard.set_alias("churn", "2", 1)
    with pytest.raises(InvalidInput, match="invalid model name"):
        yard.set_alias("../x", "production", 1)


def test_revision_counts_alias_moves(yard: Yard, register) -> None:
    assert yard.revision() == 0
    register("churn", 2)
    before = yard.revision()
    yard.set_alias("churn", "production", 1)
    yard.set_alias("churn", "production", 2)
    assert yard.revision() == before + 2
    yard.rollback("churn")
    yard.delete_alias("churn", "production")
    assert yard.revision() == before + 4


def test_registering_and_archiving_move_the_revision(yard: Yard, register) -> None:
    register()
    after_register = yard.revision()
    assert after_register > 0  # "churn" (latest) now means a new version
    yard.archive("churn", 1)
    assert yard.revision() > after_register


def test_failed_moves_do_not_bump_the_revision(yard: Yard, register) -> None:
    register()
    yard.set_alias("churn", "production", 1)
    before = yard.revision()
    with pytest.raises(Conflict, match="no earlier target"):
        yard.rollback("churn")
    with pytest.raises(Conflict, match="not 7 as expected"):
        yard.set_alias("churn", "production", 1, expect=7)
    with pytest.raises(Conflict, match="cannot archive"):
        yard.archive("churn", 1)
    assert yard.revision() == before


def test_audit_by_target_does_not_treat_underscore_as_a_wildcard(yard: Yard, register) -> None:
    register("a_b")
    register("axb")
    assert [e.target for e in yard.audit(target="a_b")] == ["a_b@1"]


def test_register_records_an_audit_event(yard: Yard, register) -> None:
    register()
    event = yard.audit(action="register")[0]
    assert (event.actor, event.target, event.details["flavor"]) == ("tester", "churn@1", "sklearn")


def test_archived_version_keeps_loading_by_number(yard: Yard, register, logreg, cancer) -> None:
    register("churn", 2)
    yard.archive("churn", 1)
    X = cancer[0].iloc[:5]
    assert yard.load("churn@1").predict(X).tolist() == logreg.predict(X).tolist()


def test_listing_versions_takes_the_same_queries_however_many_there_are(
    yard: Yard, register, cancer
) -> None:
    """A page of versions is a handful of reads, not three per version, and the reference
    profiles (the largest column, read only by drift) are not among what is read."""
    from sqlalchemy import event

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    def queries_for_listing() -> list[str]:
        statements.clear()
        event.listen(yard.stores.db.engine, "before_cursor_execute", count)
        try:
            listed = yard.list_versions("churn")
        finally:
            event.remove(yard.stores.db.engine, "before_cursor_execute", count)
        assert [v.version for v in listed] == list(range(1, len(listed) + 1))
        return list(statements)

    register("churn", 2)
    yard.set_alias("churn", "production", 2)
    few = queries_for_listing()
    register("churn", 18)
    many = queries_for_listing()
    assert len(many) == len(few) <= 6
    version_reads = [s for s in many if "FROM model_versions" in s]
    assert version_reads
    # Only whether a version has a profile is read, computed by the database.
    has_profile = "CAST(model_versions.profile AS TEXT)"
    assert all(has_profile in s for s in version_reads)
    assert not any("profile" in s.replace(has_profile, "") for s in version_reads)
    assert yard.list_versions("churn")[1].aliases == ("production",)
    assert yard.profile("churn@2")  # still there when asked for


def test_a_profile_set_later_turns_the_checks_on(yard: Yard, logreg, cancer) -> None:
    """The version's record says why its checks are off until ``set_profile`` gives it a
    reference; replacing one takes ``replace=True``."""
    from modelyard import NoReferenceWarning

    X, _ = cancer
    with pytest.warns(NoReferenceWarning, match=r"^churn@1: no reference sample"):
        bare = yard.register(logreg, "churn")
    assert bare.checks_off is not None
    assert "`modelyard profile set churn@1 --sample FILE`" in bare.checks_off
    assert yard.list_versions("churn")[0].checks_off == bare.checks_off
    with pytest.raises(InvalidInput, match="registered without sample rows"):
        yard.check_promotion("churn", 1)  # the gate has no data to check
    done = yard.set_profile("churn@1", X.iloc[:100])
    assert done.checks_off is None
    assert yard.check_promotion("churn", 1).checks  # now it has
    assert yard.get_version("churn@1").checks_off is None
    assert yard.profile("churn@1")["rows"] == 100
    with pytest.raises(Conflict, match="churn@1 already has a reference profile"):
        yard.set_profile("churn@1", X)
    assert yard.set_profile("churn@1", X, replace=True).checks_off is None
    assert yard.profile("churn@1")["rows"] == len(X)
    assert [e.action for e in yard.audit(target="churn", limit=2)] == ["profile.set"] * 2
