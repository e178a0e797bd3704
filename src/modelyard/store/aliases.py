"""Alias moves inside a caller's transaction: the compare-and-set, the history, the audit.

A rollout's last step and an A/B test's promotion move an alias in the same transaction as
their own state, so these functions take a session. A refused compare-and-set raises
:class:`AliasMoved`, which rolls that transaction back; whoever owns it records the
refusal with :func:`record_refusal` in a transaction of its own, so it is not lost with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelyard.domain.entities import AliasEvent, VersionStatus
from modelyard.domain.names import check_alias, check_name
from modelyard.domain.values import check_text, check_version
from modelyard.errors import AliasMoved, Conflict, NotFound
from modelyard.store import audit
from modelyard.store.schema import AliasEventRow, AliasRow, ModelRow, VersionRow, utcnow

MAX_REASON = 2000


def find_model(session: Session, name: str) -> ModelRow:
    row = session.scalar(select(ModelRow).where(ModelRow.name == name))
    if row is None:
        raise NotFound(f"model {name!r} not found")
    return row


def lock_model(session: Session, name: str) -> ModelRow:
    """The model's row, locked: writes to one model's versions and aliases take turns."""
    check_name(name, "model name")
    row = session.scalar(select(ModelRow).where(ModelRow.name == name).with_for_update())
    if row is None:
        raise NotFound(f"model {name!r} not found")
    return row


def find_version(session: Session, model: ModelRow, version: int) -> VersionRow:
    row = session.scalar(
        select(VersionRow).where(VersionRow.model_id == model.id, VersionRow.version == version)
    )
    if row is None:
        raise NotFound(f"version {model.name}@{version} not found")
    return row


def check_move(reason: str, expect: int | None) -> None:
    """``expect``: None skips the check, 0 means "the alias must not be set yet"."""
    check_text(reason, "reason", MAX_REASON)
    if isinstance(expect, bool) or (expect is not None and expect != 0):
        check_version(expect, "expected version")


def set_alias_in(
    session: Session,
    name: str,
    alias: str,
    version: int,
    actor: str,
    reason: str = "",
    expect: int | None = None,
) -> AliasEvent:
    """Move an alias inside the caller's transaction (a rollout's last step moves it in
    the same write as its state, so an abort racing it cannot leave the alias moved)."""
    check_alias(alias)
    version = check_version(version)
    check_move(reason, expect)
    model = lock_model(session, name)
    target = find_version(session, model, version)
    if target.status != VersionStatus.READY.value:
        raise Conflict(
            f"{name}@{version} is {target.status}; unarchive it before "
            f"pointing {name}@{alias} at it"
        )
    current = session.get(AliasRow, (model.id, alias))
    check_expectation(name, alias, current, expect)
    return move(session, model, alias, current, version, "set", actor, reason)


def rollback_in(
    session: Session, name: str, alias: str, actor: str, reason: str, expect: int | None
) -> AliasEvent:
    """Move the alias back to the target it had before its current one (like "back")."""
    model = lock_model(session, name)
    current = session.get(AliasRow, (model.id, alias))
    if current is None:
        raise NotFound(f"alias {name}@{alias} does not exist")
    check_expectation(name, alias, current, expect)
    stack = target_stack(events(session, model.id, alias))
    ready = set(
        session.scalars(
            select(VersionRow.version).where(
                VersionRow.model_id == model.id, VersionRow.status == VersionStatus.READY.value
            )
        )
    )
    earlier = [v for v in stack[:-1] if v in ready and v != current.version]
    if not earlier:
        raise Conflict(f"{name}@{alias} has no earlier target to roll back to")
    return move(session, model, alias, current, earlier[-1], "rollback", actor, reason)


def current_version(session: Session, name: str, alias: str) -> int | None:
    current = session.get(AliasRow, (find_model(session, name).id, alias))
    return current.version if current is not None else None


def check_expectation(name: str, alias: str, current: AliasRow | None, expect: int | None) -> None:
    if expect is None:
        return
    actual = current.version if current is not None else None
    if actual != (expect or None):
        raise AliasMoved(name, alias, expect, actual)


def record_refusal(
    session: Session, refused: AliasMoved, actor: str, kind: str, to: int | None, reason: str
) -> None:
    """``alias.refused``: who tried which move, what they expected and what was there."""
    audit.record(
        session,
        actor,
        "alias.refused",
        refused.target,
        {
            "move": kind,
            "to": to,
            "expected": refused.expected,
            "actual": refused.actual,
            "reason": reason,
            "error": str(refused),
        },
    )


def move(
    session: Session,
    model: ModelRow,
    alias: str,
    current: AliasRow | None,
    to: int | None,
    kind: str,
    actor: str,
    reason: str,
) -> AliasEvent:
    before = current.version if current is not None else None
    if to is None:
        if current is not None:
            session.delete(current)
    elif current is None:
        session.add(AliasRow(model_id=model.id, name=alias, version=to))
    else:
        current.version = to
    event = AliasEventRow(
        model_id=model.id,
        alias=alias,
        from_version=before,
        to_version=to,
        kind=kind,
        actor=actor,
        reason=reason,
        at=utcnow(),
    )
    session.add(event)
    audit.record(
        session,
        actor,
        f"alias.{kind}",
        f"{model.name}@{alias}",
        {"from": before, "to": to, "reason": reason},
    )
    audit.bump_revision(session)
    session.flush()
    return to_event(model.name, event)


def events(session: Session, model_id: int, alias: str | None) -> Sequence[AliasEventRow]:
    query = select(AliasEventRow).where(AliasEventRow.model_id == model_id)
    if alias is not None:
        query = query.where(AliasEventRow.alias == alias)
    return session.scalars(query.order_by(AliasEventRow.seq)).all()


def target_stack(history: Sequence[AliasEventRow]) -> list[int]:
    """Replay the history: a set pushes its target, a rollback pops back to the one below."""
    stack: list[int] = []
    for event in history:
        if event.kind == "set" and event.to_version is not None:
            stack.append(event.to_version)
        elif event.kind == "rollback" and event.to_version is not None:
            while stack and stack[-1] != event.to_version:
                stack.pop()
            if not stack:
                stack.append(event.to_version)
        elif event.kind == "delete":
            stack.clear()
    return stack


def to_event(model: str, row: AliasEventRow) -> AliasEvent:
    return AliasEvent(
        row.seq,
        model,
        row.alias,
        row.from_version,
        row.to_version,
        row.kind,
        row.actor,
        row.reason,
        row.at,
    )
