"""Serving status reported by server processes, so `endpoint show` can tell what runs where,
and the version that last loaded per endpoint, so a restarting replica has a fallback."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from modelyard.domain.endpoints import ReplicaStatus
from modelyard.store.db import Database, upsert
from modelyard.store.schema import LastLoadedRow, ReplicaStatusRow, utcnow


class StatusStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def report(self, replica: str, statuses: dict[str, tuple[str | None, str]]) -> None:
        """Replace this replica's rows: ``{endpoint: (version served, load error)}``."""

        def work(session: Session) -> None:
            session.execute(delete(ReplicaStatusRow).where(ReplicaStatusRow.replica == replica))
            now = utcnow()
            session.add_all(
                ReplicaStatusRow(
                    replica=replica[:128],
                    endpoint=endpoint,
                    version=version,
                    error=error[:2000],
                    updated_at=now,
                )
                for endpoint, (version, error) in statuses.items()
            )

        self.db.write(work)

    def list(self, endpoint: str, fresh_seconds: float = 120.0) -> list[ReplicaStatus]:
        """Reports younger than ``fresh_seconds`` (older ones are from processes gone away)."""
        cutoff = utcnow() - timedelta(seconds=fresh_seconds)

        def work(session: Session) -> list[ReplicaStatus]:
            rows = session.scalars(
                select(ReplicaStatusRow)
                .where(ReplicaStatusRow.endpoint == endpoint, ReplicaStatusRow.updated_at >= cutoff)
                .order_by(ReplicaStatusRow.replica)
            )
            return [
                ReplicaStatus(r.replica, r.endpoint, r.version, r.error, r.updated_at) for r in rows
            ]

        return self.db.read(work)

    def record_loaded(self, endpoint: str, version: str, replica: str) -> None:
        """``version`` (``churn@2``) loaded, warmed and now serves ``endpoint``."""
        values = {
            "endpoint": endpoint,
            "version": version,
            "replica": replica[:128],
            "loaded_at": utcnow(),
        }
        self.db.write(lambda session: upsert(session, LastLoadedRow, values, ["endpoint"]))

    def last_loaded(self, endpoint: str) -> str | None:
        """The version that last served ``endpoint`` on any replica, if one ever did."""
        return self.db.read(
            lambda session: session.scalar(
                select(LastLoadedRow.version).where(LastLoadedRow.endpoint == endpoint)
            )
        )
