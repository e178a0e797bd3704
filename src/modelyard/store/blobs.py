"""The blob ledger: which blobs are in use, and the only code that deletes blobs.

A writer *reserves* the hashes it is about to store before writing them, and the
transaction that commits the rows referencing them drops the reservation. Deleters (a
failed registration cleaning up, ``gc``) take the same lock as reservers and never delete a
blob that is referenced or reserved. So a blob is never deleted while another writer is
about to use it, whatever the timing; a writer killed with SIGKILL leaves a reservation
that ``gc`` drops once it is older than the grace period.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.schema import FileRow, LockRow, PendingBlobRow, utcnow


@dataclass
class GcReport:
    dry_run: bool
    orphan_blobs: list[tuple[str, int]] = field(default_factory=list)
    temp_files: list[tuple[str, int]] = field(default_factory=list)
    stale_reservations: int = 0
    reserved: int = 0

    @property
    def bytes(self) -> int:
        return sum(s for _, s in self.orphan_blobs) + sum(s for _, s in self.temp_files)


def new_token() -> str:
    return uuid.uuid4().hex


def referenced(session: Session) -> set[str]:
    return set(session.scalars(select(FileRow.sha256).distinct()))


def release(session: Session, token: str) -> None:
    """Drop a reservation inside the transaction that commits the referencing rows."""
    session.execute(delete(PendingBlobRow).where(PendingBlobRow.token == token))


def _lock(session: Session) -> None:
    session.execute(select(LockRow).where(LockRow.name == "blobs").with_for_update())


def _reserved(session: Session) -> set[str]:
    return set(session.scalars(select(PendingBlobRow.sha256).distinct()))


class BlobLedger:
    def __init__(self, db: Database, artifacts: ArtifactStore) -> None:
        self.db = db
        self.artifacts = artifacts

    def reserve(self, token: str, hashes: Iterable[str]) -> None:
        wanted = sorted(set(hashes))

        def work(session: Session) -> None:
            _lock(session)
            now = utcnow()
            session.add_all(PendingBlobRow(token=token, sha256=h, created_at=now) for h in wanted)

        self.db.write(work)

    @contextmanager
    def reservation(self, hashes: Iterable[str]) -> Iterator[str]:
        """Reserve for the duration of a block (backups); released whatever happens."""
        token = new_token()
        self.reserve(token, hashes)
        try:
            yield token
        finally:
            self.db.write(lambda session: release(session, token))

    def discard(self, token: str, hashes: Iterable[str]) -> list[str]:
        """Undo a failed writer: drop its reservation and delete what nobody else needs."""
        candidates = set(hashes)

        def work(session: Session) -> list[str]:
            _lock(session)
            release(session, token)
            keep = referenced(session) | _reserved(session)
            deleted = []
            for sha256 in sorted(candidates - keep):
                if self.artifacts.exists(sha256):
                    self.artifacts.delete_blob(sha256)
                    deleted.append(sha256)
            return deleted

        return self.db.write(work)

    def referenced(self) -> set[str]:
        return self.db.read(referenced)

    def collect(self, *, dry_run: bool, grace_seconds: float) -> GcReport:
        """Blobs neither referenced nor reserved, and temp files whose writer has died."""
        report = GcReport(dry_run=dry_run)
        cutoff = utcnow() - timedelta(seconds=grace_seconds)
        listed = {b.sha256: b.size for b in self.artifacts.list_blobs()}
        report.temp_files = [
            (path, size) for path, size, _ in self.artifacts.list_tmp() if not _writer_alive(path)
        ]

        def work(session: Session) -> None:
            _lock(session)
            stale = session.scalars(
                select(PendingBlobRow.id).where(PendingBlobRow.created_at < cutoff)
            ).all()
            report.stale_reservations = len(stale)
            if not dry_run and stale:
                session.execute(delete(PendingBlobRow).where(PendingBlobRow.id.in_(stale)))
            live = set(
                session.scalars(
                    select(PendingBlobRow.sha256).where(PendingBlobRow.created_at >= cutoff)
                )
            )
            report.reserved = len(live & set(listed))
            keep = referenced(session) | live
            report.orphan_blobs = [(h, s) for h, s in sorted(listed.items()) if h not in keep]
            if not dry_run:
                for sha256, _ in report.orphan_blobs:
                    self.artifacts.delete_blob(sha256)
                for path, _ in report.temp_files:
                    self.artifacts.delete_tmp(path)

        (self.db.read if dry_run else self.db.write)(work)
        return report


def _writer_alive(path: str) -> bool:
    """Temp files are named ``<pid>-<uuid>``; a file whose writer is gone is garbage."""
    pid_text = os.path.basename(path).split("-", 1)[0]
    if not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
