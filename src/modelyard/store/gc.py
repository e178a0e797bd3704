"""Garbage collection: blobs no row references and temp files of dead writers.

A blob younger than the grace period is kept even if unreferenced: a registration in
another process may have written it and not yet committed its row.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.schema import FileRow


@dataclass
class GcReport:
    dry_run: bool
    orphan_blobs: list[tuple[str, int]] = field(default_factory=list)
    temp_files: list[tuple[str, int]] = field(default_factory=list)
    kept_young: int = 0

    @property
    def bytes(self) -> int:
        return sum(s for _, s in self.orphan_blobs) + sum(s for _, s in self.temp_files)


def collect(
    db: Database, artifacts: ArtifactStore, *, dry_run: bool = True, grace_seconds: float = 3600.0
) -> GcReport:
    report = GcReport(dry_run=dry_run)
    now = time.time()
    referenced = db.read(lambda s: set(s.scalars(select(FileRow.sha256).distinct())))
    for blob in artifacts.list_blobs():
        if blob.sha256 in referenced:
            continue
        if now - blob.modified < grace_seconds:
            report.kept_young += 1
            continue
        report.orphan_blobs.append((blob.sha256, blob.size))
    for path, size, modified in artifacts.list_tmp():
        if _writer_alive(path) and now - modified < grace_seconds:
            report.kept_young += 1
            continue
        report.temp_files.append((path, size))
    if not dry_run:
        # Re-read the references right before deleting: a row committed since the scan wins.
        referenced = db.read(lambda s: set(s.scalars(select(FileRow.sha256).distinct())))
        report.orphan_blobs = [(h, s) for h, s in report.orphan_blobs if h not in referenced]
        for sha256, _ in report.orphan_blobs:
            artifacts.delete_blob(sha256)
        for path, _ in report.temp_files:
            artifacts.delete_tmp(path)
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
