"""A/B tests, and the per-arm predictions their report reads from the prediction log."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelyard.domain.abtests import ABTest
from modelyard.errors import Conflict, NotFound
from modelyard.store import audit
from modelyard.store.aliases import set_alias_in
from modelyard.store.db import Database
from modelyard.store.endpoints import read_endpoint, write_endpoint
from modelyard.store.grouped_rows import element_text, elements
from modelyard.store.rollouts import AliasMove
from modelyard.store.route_claims import claim_routes
from modelyard.store.schema import ABTestRow, PredictionRow, utcnow


class ABTestStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, test: ABTest, actor: str, reason: str = "") -> ABTest:
        """Store the test and split the endpoint's traffic in one transaction."""

        def work(session: Session) -> ABTest:
            endpoint = claim_routes(session, test.endpoint)
            row = ABTestRow(
                endpoint=test.endpoint,
                spec=test.spec(),
                state="running",
                started_at=utcnow(),
                created_by=actor,
            )
            session.add(row)
            session.flush()
            write_endpoint(
                session,
                dataclasses.replace(endpoint, routes=test.routes(), sticky_key=test.sticky_key),
                actor,
                f"A/B test {row.id}",
            )
            audit.record(
                session,
                actor,
                "abtest.start",
                f"endpoint:{test.endpoint}",
                {"abtest": row.id, **test.spec(), "reason": reason},
            )
            return _to_entity(row)

        return self.db.write(work)

    def stop(
        self,
        test: ABTest,
        result: Mapping[str, Any],
        actor: str,
        reason: str,
        alias: AliasMove | None = None,
    ) -> ABTest:
        """Put the routes back as they were, keep the final report and move ``alias`` to
        the winner — one transaction, so a stop racing another cannot promote twice."""

        def work(session: Session) -> ABTest:
            row = session.get(ABTestRow, test.id, with_for_update=True)
            if row is None or row.state != "running":
                raise Conflict(f"A/B test {test.id} is not running")
            if alias is not None:
                name, alias_name, version, why, expect = alias
                set_alias_in(session, name, alias_name, version, actor, why, expect)
            row.state, row.stopped_at = "stopped", utcnow()
            row.result = {**result, "state": "stopped", "stopped_at": row.stopped_at.isoformat()}
            endpoint = read_endpoint(session, test.endpoint, lock=True)
            write_endpoint(
                session,
                dataclasses.replace(
                    endpoint, routes=test.original_routes, sticky_key=test.original_sticky_key
                ),
                actor,
                f"A/B test {test.id} stopped",
            )
            audit.record(
                session,
                actor,
                "abtest.stop",
                f"endpoint:{test.endpoint}",
                {"abtest": test.id, "winner": result.get("winner"), "reason": reason},
            )
            return _to_entity(row)

        return self.db.write(work)

    def latest(self, endpoint: str) -> ABTest:
        def work(session: Session) -> ABTest:
            row = session.scalar(
                select(ABTestRow)
                .where(ABTestRow.endpoint == endpoint)
                .order_by(ABTestRow.id.desc())
                .limit(1)
            )
            if row is None:
                raise NotFound(f"endpoint {endpoint!r} has no A/B test")
            return _to_entity(row)

        return self.db.read(work)

    def running(self, endpoint: str) -> ABTest | None:
        def work(session: Session) -> ABTest | None:
            row = session.scalar(
                select(ABTestRow).where(
                    ABTestRow.endpoint == endpoint, ABTestRow.state == "running"
                )
            )
            return None if row is None else _to_entity(row)

        return self.db.read(work)

    def predictions(
        self, endpoint: str, versions: tuple[str, ...], since: datetime, until: datetime, limit: int
    ) -> list[tuple[str, str]]:
        """(version, prediction JSON) of the arms' logged rows, newest first, at most
        ``limit`` — for metrics that need no labels."""
        query = (
            select(PredictionRow.version, PredictionRow.prediction, PredictionRow.rows)
            .where(
                PredictionRow.endpoint == endpoint,
                PredictionRow.version.in_(versions),
                PredictionRow.created_at >= since,
                PredictionRow.created_at < until,
            )
            .order_by(PredictionRow.created_at.desc())
            .limit(limit)
        )

        def work(session: Session) -> list[tuple[str, str]]:
            found: list[tuple[str, str]] = []
            # Streamed (a server-side cursor on PostgreSQL): the limit counts predictions,
            # and a request's row holds many, so reading stops as soon as it is reached.
            result = session.execute(query.execution_options(yield_per=1000))
            try:
                for version, prediction, rows in result:
                    if rows is None:
                        found.append((version, prediction))
                    else:  # a request's rows, newest request first
                        values = elements(prediction) or []
                        found += [(version, element_text(values, i) or "null") for i in range(rows)]
                    if len(found) >= limit:
                        break
            finally:
                result.close()
            return found[:limit]

        return self.db.read(work)


def _to_entity(row: ABTestRow) -> ABTest:
    return ABTest.from_spec(
        row.endpoint,
        row.spec,
        id=row.id,
        state=row.state,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        result=row.result,
        created_by=row.created_by,
    )
