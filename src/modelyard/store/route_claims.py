"""Who may set an endpoint's routes: one rule, checked in the transaction that writes them.

A rollout or an A/B test in progress owns its endpoint's routes (the controller sets them on
every tick), so a change by hand, a policy's shift, or a second rollout or test is refused
while one runs. The endpoint's row is locked first: two claims on one endpoint serialise, and
nothing can start between the check and the write.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelyard.domain.endpoints import Endpoint, Route
from modelyard.domain.rollouts import ACTIVE
from modelyard.errors import Conflict
from modelyard.store.db import Database
from modelyard.store.endpoints import read_endpoint, write_endpoint
from modelyard.store.schema import ABTestRow, RolloutRow


def claim_routes(session: Session, name: str) -> Endpoint:
    """The endpoint, locked for a routes change, or Conflict naming who owns its routes."""
    endpoint = read_endpoint(session, name, lock=True)
    _refuse_if_owned(session, name)
    return endpoint


def check_routes_free(db: Database, name: str) -> None:
    """The same rule read ahead of a longer operation (a rollout checks it before it plans),
    so the caller hears who owns the routes before any other objection."""
    db.read(lambda session: _refuse_if_owned(session, name))


def _refuse_if_owned(session: Session, name: str) -> None:
    rollout = session.scalar(
        select(RolloutRow.id).where(RolloutRow.endpoint == name, RolloutRow.state.in_(ACTIVE))
    )
    if rollout is not None:
        raise Conflict(
            f"rollout {rollout} owns the routes of {name!r} (it is in progress); "
            "abort it first (`modelyard rollout abort`)"
        )
    test = session.scalar(
        select(ABTestRow.id).where(ABTestRow.endpoint == name, ABTestRow.state == "running")
    )
    if test is not None:
        raise Conflict(
            f"A/B test {test} owns the routes of {name!r} (it is running); "
            "stop it first (`modelyard abtest stop`)"
        )


def set_routes(
    db: Database,
    name: str,
    routes: Sequence[Route],
    sticky_key: str | None,
    actor: str,
    reason: str = "",
) -> Endpoint:
    """Routes set by hand or by a policy's shift: claimed and written in one transaction."""

    def work(session: Session) -> Endpoint:
        endpoint = claim_routes(session, name)
        changed = dataclasses.replace(endpoint, routes=tuple(routes), sticky_key=sticky_key)
        return write_endpoint(session, changed, actor, reason)

    return db.write(work)
