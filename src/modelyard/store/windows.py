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

    def read(
        self, endpoint: str, since: datetime, until: datetime, version: str | None = None
    ) -> list[StoredWindow]:
        """Windows of buckets that start in [since, until), oldest first (one version's)."""

        def work(session: Session) -> list[StoredWindow]:
            query = select(MonitorWindowRow).where(
                MonitorWindowRow.endpoint == endpoint,
                MonitorWindowRow.bucket_start >= since,
                MonitorWindowRow.bucket_start < until,
            )
            if version is not None:  # filtered in SQL, not after reading every version
                query = query.where(MonitorWindowRow.version == version)
            rows = session.scalars(
                query.order_by(MonitorWindowRow.bucket_start, MonitorWindowRow.version)
            )
            return [
                StoredWindow(
                    r.endpoint, r.version, r.bucket_start, r.bucket_seconds, r.replica, r.sketch
                )
                for r in rows
            ]

        return self.db.read(work)

    def finer_than(self, seconds: int, before: datetime) -> list[tuple[str, str, datetime]]:
        """(endpoint, version, oldest bucket start) for each pair holding windows shorter
        than ``seconds`` that start before ``before``: what compaction has left to fold."""

        def work(session: Session) -> list[tuple[str, str, datetime]]:
            rows = session.execute(
                select(
                    MonitorWindowRow.endpoint,
                    MonitorWindowRow.version,
                    func.min(MonitorWindowRow.bucket_start),
                )
                .where(
                    MonitorWindowRow.bucket_seconds < seconds,
                    MonitorWindowRow.bucket_start < before,
                )
                .group_by(MonitorWindowRow.endpoint, MonitorWindowRow.version)
            )
            return [(endpoint, version, oldest) for endpoint, version, oldest in rows]

        return self.db.read(work)

    def read_version(
        self, endpoint: str, version: str, since: datetime, until: datetime
    ) -> list[StoredWindow]:
        """One version's windows of buckets that start in [since, until)."""
        return self.read(endpoint, since, until, version)

    def replace(self, folded: Sequence[StoredWindow], rollup: StoredWindow) -> None:
        """Put ``rollup`` in place of the ``folded`` windows, in one transaction (so a
        reader sees the fine windows or their rollup, never both or neither)."""

        def work(session: Session) -> None:
            for w in folded:
                session.execute(
                    delete(MonitorWindowRow).where(
                        MonitorWindowRow.endpoint == w.endpoint,
                        MonitorWindowRow.version == w.version,
                        MonitorWindowRow.bucket_start == w.bucket_start,
                        MonitorWindowRow.replica == w.replica[:128],
                    )
                )
            session.flush()
            session.add(
                MonitorWindowRow(
                    endpoint=rollup.endpoint,
                    version=rollup.version,
                    bucket_start=rollup.bucket_start,
                    replica=rollup.replica,
                    bucket_seconds=rollup.bucket_seconds,
                    sketch=rollup.sketch,
                    updated_at=utcnow(),
                )
            )

        self.db.write(work)

    def prune(self, cutoff: datetime, dry_run: bool = False) -> int:
        def work(session: Session) -> int:
            old = MonitorWindowRow.bucket_start < cutoff
            count = session.scalar(select(func.count()).where(old)) or 0
            if not dry_run:
                session.execute(delete(MonitorWindowRow).where(old))
            return int(count)

        return self.db.write(work)
