"""Rollouts: each transition and the routes it implies commit in one transaction.

Writers pass the revision they read; a transition against a rollout that moved since
(another controller, a user's pause) fails with ``Conflict`` instead of undoing it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelyard.domain.endpoints import Route
from modelyard.domain.rollouts import ACTIVE, Rollout, RolloutPlan
from modelyard.errors import Conflict, NotFound
from modelyard.store import audit
from modelyard.store.aliases import set_alias_in
from modelyard.store.db import Database
from modelyard.store.endpoints import read_endpoint, write_endpoint
from modelyard.store.route_claims import claim_routes
from modelyard.store.schema import RolloutRow, utcnow

# (model name, alias, version, reason, expected current version) for set_alias_in
AliasMove = tuple[str, str, int, str, int | None]


class RolloutStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, plan: RolloutPlan, actor: str, reason: str = "") -> Rollout:
        """Create the rollout and route its first step, unless one is already active."""

        def work(session: Session) -> Rollout:
            claim_routes(session, plan.endpoint)
            now = utcnow()
            row = RolloutRow(
                endpoint=plan.endpoint,
                spec=plan.spec(),
                state="running",
                step=0,
                step_started_at=now,
                message=f"step 1: {plan.steps[0]}% to {plan.candidate}",
                revision=1,
                created_at=now,
                updated_at=now,
                created_by=actor,
            )
            session.add(row)
            session.flush()
            _route(session, plan, plan.routes_at(0), actor, f"rollout {row.id} step 1")
            details = {"rollout": row.id, **plan.spec(), "reason": reason}
            audit.record(session, actor, "rollout.start", f"endpoint:{plan.endpoint}", details)
            return _to_entity(row)

        return self.db.write(work)

    def transition(
        self,
        rollout: Rollout,
        actor: str,
        *,
        action: str,
        routes: Sequence[Route] | None = None,
        details: dict[str, Any] | None = None,
        alias: AliasMove | None = None,
        **changes: Any,
    ) -> Rollout:
        """Move ``rollout`` (read at ``rollout.revision``) to ``changes``; set ``routes``
        on its endpoint and move ``alias`` in the same transaction; audit as ``action``."""

        def work(session: Session) -> Rollout:
            row = _locked(session, rollout)
            if alias is not None:
                name, alias_name, version, reason, expect = alias
                set_alias_in(session, name, alias_name, version, actor, reason, expect)
            moved = dataclasses.replace(rollout, **changes)
            row.state, row.step = moved.state, moved.step
            row.step_started_at, row.message = moved.step_started_at, moved.message
            row.revision += 1
            row.updated_at = utcnow()
            if routes is not None:
                _route(session, moved.plan, routes, actor, f"rollout {row.id}: {action}")
            audit.record(
                session,
                actor,
                action,
                f"endpoint:{moved.plan.endpoint}",
                {
                    "rollout": row.id,
                    "state": moved.state,
                    "step": moved.step + 1,
                    "weight": moved.weight,
                    "message": moved.message,
                    **(details or {}),
                },
            )
            return _to_entity(row)

        return self.db.write(work)

    def note(self, rollout: Rollout, message: str) -> None:
        """Say where a waiting step stands (no audit entry, no revision: waiting is not a
        transition, and a pause racing this note must still win)."""

        def work(session: Session) -> None:
            row = session.get(RolloutRow, rollout.id)
            if row is not None and row.revision == rollout.revision:
                row.message = message

        self.db.write(work)

    def reroute(self, rollout: Rollout, routes: Sequence[Route], actor: str) -> None:
        """Put the endpoint's routes back to what ``rollout`` wants (after a crash) — only
        if it is still running as read: an abort racing this must keep its routes."""

        def work(session: Session) -> None:
            row = _locked(session, rollout)
            if row.state != "running":
                raise Conflict(f"rollout {rollout.id} is {row.state}; routes left alone")
            _route(session, rollout.plan, routes, actor, f"rollout {rollout.id}: resumed")

        self.db.write(work)

    def get(self, rollout_id: int) -> Rollout:
        def work(session: Session) -> Rollout:
            row = session.get(RolloutRow, rollout_id)
            if row is None:
                raise NotFound(f"rollout {rollout_id} not found")
            return _to_entity(row)

        return self.db.read(work)

    def latest(self, endpoint: str) -> Rollout:
        def work(session: Session) -> Rollout:
            row = session.scalar(
                select(RolloutRow)
                .where(RolloutRow.endpoint == endpoint)
                .order_by(RolloutRow.id.desc())
                .limit(1)
            )
            if row is None:
                raise NotFound(f"endpoint {endpoint!r} has no rollout")
            return _to_entity(row)

        return self.db.read(work)

    def active(self) -> list[Rollout]:
        return self.db.read(
            lambda session: [
                _to_entity(r)
                for r in session.scalars(
                    select(RolloutRow).where(RolloutRow.state.in_(ACTIVE)).order_by(RolloutRow.id)
                )
            ]
        )

    def list(self, endpoint: str | None = None, limit: int = 50) -> list[Rollout]:
        query = select(RolloutRow).order_by(RolloutRow.id.desc()).limit(limit)
        if endpoint is not None:
            query = query.where(RolloutRow.endpoint == endpoint)
        return self.db.read(lambda session: [_to_entity(r) for r in session.scalars(query)])


def _locked(session: Session, rollout: Rollout) -> RolloutRow:
    row = session.get(RolloutRow, rollout.id, with_for_update=True)
    if row is None:
        raise NotFound(f"rollout {rollout.id} not found")
    if row.revision != rollout.revision:
        raise Conflict(f"rollout {rollout.id} changed meanwhile; read it again")
    return row


def _route(
    session: Session, plan: RolloutPlan, routes: Sequence[Route], actor: str, reason: str
) -> None:
    endpoint = read_endpoint(session, plan.endpoint, lock=True)
    if tuple(endpoint.routes) == tuple(routes):
        return
    write_endpoint(session, dataclasses.replace(endpoint, routes=tuple(routes)), actor, reason)


def _to_entity(row: RolloutRow) -> Rollout:
    started: datetime = row.step_started_at
    return Rollout(
        id=row.id,
        plan=RolloutPlan.from_spec(row.spec),
        state=row.state,
        step=row.step,
        step_started_at=started,
        message=row.message,
        revision=row.revision,
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
    )
