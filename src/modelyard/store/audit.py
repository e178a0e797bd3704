"""The audit trail and the change counter, written inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from modelyard.domain.entities import AuditEvent
from modelyard.store.db import insert_ignore
from modelyard.store.schema import AuditRow, RevisionRow, utcnow


def record(
    session: Session, actor: str, action: str, target: str, details: dict[str, Any] | None = None
) -> None:
    session.add(
        AuditRow(at=utcnow(), actor=actor, action=action, target=target, details=details or {})
    )


def bump_revision(session: Session) -> None:
    """Tell running servers something they serve may have moved."""
    bump = update(RevisionRow).where(RevisionRow.id == 1).values(value=RevisionRow.value + 1)
    if session.execute(bump).rowcount == 0:  # type: ignore[attr-defined]
        # First change ever: racing writers may both get here; only one insert wins.
        insert_ignore(session, RevisionRow, {"id": 1, "value": 0}, ["id"])
        session.execute(bump)


def revision(session: Session) -> int:
    value = session.scalar(select(RevisionRow.value).where(RevisionRow.id == 1))
    return int(value or 0)


def list_events(
    session: Session,
    *,
    target: str | None,
    action: str | None,
    limit: int,
    actor: str | None = None,
    before: int | None = None,
) -> list[AuditEvent]:
    """Newest first; ``before`` (a seq) pages back, ``action`` ending in ``*`` a family."""
    query = select(AuditRow).order_by(AuditRow.seq.desc()).limit(limit)
    if target:
        query = query.where(
            (AuditRow.target == target) | AuditRow.target.startswith(f"{target}@", autoescape=True)
        )
    if action and action.endswith("*"):  # "policy.*": every action of that family
        query = query.where(AuditRow.action.startswith(action[:-1], autoescape=True))
    elif action:
        query = query.where(AuditRow.action == action)
    if actor:
        query = query.where(AuditRow.actor == actor)
    if before is not None:
        query = query.where(AuditRow.seq < before)
    return [
        AuditEvent(r.seq, r.at, r.actor, r.action, r.target, dict(r.details))
        for r in session.scalars(query)
    ]
