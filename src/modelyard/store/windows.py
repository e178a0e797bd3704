"""Monitor windows: each server process upserts its own cumulative sketch per bucket.

A replica owns its rows (the replica id is part of the key), so writes never contend and
never need a read-modify-write: the latest state simply replaces the previous one. Readers
merge all replicas' rows by addition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from modelyard.store.db import Database
from modelyard.store.schema import MonitorWindowRow, utcnow


@dataclass(frozen=True)
class StoredWindow:
    endpoint: str
    version: str
    bucket_start: datetime
    bucket_seconds: int
    replica: str
    sketch: dict[str, Any]


class WindowStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, windows: Sequence[StoredWindow]) -> None:
        if not windows:
            return
        now = utcnow()
        values = [
            {
                "endpoint": w.endpoint,
                "version": w.version,
                "bucket_start": w.bucket_start,
                "replica": w.replica[:128],
                "bucket_seconds": w.bucket_seconds,
                "sketch": w.sketch,
                "updated_at": now,
            }
            for w in windows
        ]

        def work(session: Session) -> None:
            if session.get_bind().dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
            statement = insert(MonitorWindowRow)
            statement = statement.on_conflict_do_update(
                index_elements=["endpoint", "version", "bucket_start", "replica"],
                set_={
                    "sketch": statement.excluded.sketch,
                    "bucket_seconds": statement.excluded.bucket_seconds,
                    "updated_at": statement.excluded.updated_at,
                },
            )
            session.execute(statement, values)

        self.db.write(work)

    def read(self, endpoint: str, since: datetime, until: datetime) -> list[StoredWindow]:
        """Windows of buckets that start in [since, until), oldest first."""

        def work(session: Session) -> list[StoredWindow]:
            rows = session.scalars(
                select(MonitorWindowRow)
                .where(
                    MonitorWindowRow.endpoint == endpoint,
                    MonitorWindowRow.bucket_start >= since,
                    MonitorWindowRow.bucket_start < until,
                )
                .order_by(MonitorWindowRow.bucket_start, MonitorWindowRow.version)
            )
            return [
                StoredWindow(
                    r.endpoint, r.version, r.bucket_start, r.bucket_seconds, r.replica, r.sketch
                )
                for r in rows
            ]

        return self.db.read(work)

    def prune(self, cutoff: datetime, dry_run: bool = False) -> int:
        def work(session: Session) -> int:
            old = MonitorWindowRow.bucket_start < cutoff
            count = session.scalar(select(func.count()).where(old)) or 0
            if not dry_run:
                session.execute(delete(MonitorWindowRow).where(old))
            return int(count)

        return self.db.write(work)
