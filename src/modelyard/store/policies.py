"""Policies and the controller's memory of them (breach start, last firing, armed)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelyard.domain.policies import Policy
from modelyard.errors import InvalidInput, NotFound
from modelyard.store import audit
from modelyard.store.db import Database
from modelyard.store.endpoints import read_endpoint
from modelyard.store.schema import PolicyRow, utcnow

MAX_PER_ENDPOINT = 100


class PolicyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, policy: Policy, actor: str) -> Policy:
        def work(session: Session) -> Policy:
            read_endpoint(session, policy.endpoint, lock=True)
            count = len(
                session.scalars(
                    select(PolicyRow.id).where(PolicyRow.endpoint == policy.endpoint)
                ).all()
            )
            if count >= MAX_PER_ENDPOINT:
                raise InvalidInput(
                    f"endpoint {policy.endpoint!r} has {count} policies, the most allowed"
                )
            row = PolicyRow(
                endpoint=policy.endpoint,
                spec=policy.spec(),
                enabled=True,
                armed=True,
                created_at=utcnow(),
                created_by=actor,
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                actor,
                "policy.add",
                f"endpoint:{policy.endpoint}",
                {"policy": row.id, **policy.spec()},
            )
            return _to_entity(row)

        return self.db.write(work)

    def remove(self, policy_id: int, actor: str, reason: str = "") -> Policy:
        def work(session: Session) -> Policy:
            row = _get(session, policy_id)
            policy = _to_entity(row)
            session.delete(row)
            audit.record(
                session,
                actor,
                "policy.remove",
                f"endpoint:{policy.endpoint}",
                {"policy": policy_id, **policy.spec(), "reason": reason},
            )
            return policy

        return self.db.write(work)

    def get(self, policy_id: int) -> Policy:
        return self.db.read(lambda session: _to_entity(_get(session, policy_id)))

    def list(self, endpoint: str | None = None) -> list[Policy]:
        query = select(PolicyRow).order_by(PolicyRow.id)
        if endpoint is not None:
            query = query.where(PolicyRow.endpoint == endpoint)
        return self.db.read(lambda session: [_to_entity(r) for r in session.scalars(query)])

    def save_state(self, policy: Policy) -> None:
        """Remember an evaluation (the row may have been removed meanwhile: then nothing)."""

        def work(session: Session) -> None:
            row = session.get(PolicyRow, policy.id)
            if row is None:
                return
            row.breach_since, row.fired_at, row.armed = (
                policy.breach_since,
                policy.fired_at,
                policy.armed,
            )

        self.db.write(work)

    def record(self, policy: Policy, action: str, actor: str, details: dict[str, object]) -> None:
        """An entry in the policy's history (the audit log, under its endpoint)."""
        self.db.write(
            lambda session: audit.record(
                session,
                actor,
                action,
                f"endpoint:{policy.endpoint}",
                {"policy": policy.id, "when": policy.condition.text, **details},
            )
        )


def _get(session: Session, policy_id: int) -> PolicyRow:
    row = session.get(PolicyRow, policy_id)
    if row is None:
        raise NotFound(f"policy {policy_id} not found")
    return row


def _to_entity(row: PolicyRow) -> Policy:
    return Policy.from_spec(
        row.endpoint,
        row.spec,
        id=row.id,
        enabled=row.enabled,
        created_at=row.created_at,
        created_by=row.created_by,
        breach_since=row.breach_since,
        fired_at=row.fired_at,
        armed=row.armed,
    )
