import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelyard import Yard


def _blob_files(home: Path) -> set[str]:
    return {p.name for p in (home / "artifacts" / "blobs").rglob("*") if p.is_file()}


def test_gc_is_a_dry_run_by_default_and_keeps_referenced(sqlite_yard: Yard, logreg, cancer) -> None:
    sqlite_yard.register(logreg, "churn", sample=cancer[0])
    orphan = sqlite_yard.stores.artifacts.put_bytes(b"nobody references me")
    dry = sqlite_yard.gc(grace_seconds=0)
    assert dry.orphan_blobs == [(orphan.sha256, orphan.size)]
    assert sqlite_yard.stores.artifacts.exists(orphan.sha256)
    done = sqlite_yard.gc(dry_run=False, grace_seconds=0)
    assert done.orphan_blobs == [(orphan.sha256, orphan.size)]
    assert not sqlite_yard.stores.artifacts.exists(orphan.sha256)
    assert sqlite_yard.load("churn@1").predict(cancer[0].iloc[:2]).shape == (2,)


def test_gc_keeps_reserved_blobs_until_the_reservation_is_stale(sqlite_yard: Yard) -> None:
    data = b"written by a registration still in flight"
    sqlite_yard.stores.blobs.reserve("writer", [hashlib.sha256(data).hexdigest()])
    blob = sqlite_yard.stores.artifacts.put_bytes(data)
    kept = sqlite_yard.gc(dry_run=False, grace_seconds=3600)
    assert (kept.orphan_blobs, kept.reserved) == ([], 1)
    assert sqlite_yard.stores.artifacts.exists(blob.sha256)
    dropped = sqlite_yard.gc(dry_run=False, grace_seconds=0)
    assert dropped.stale_reservations == 1
    assert dropped.orphan_blobs == [(blob.sha256, blob.size)]


def test_a_failed_writer_never_deletes_a_blob_another_writer_reserved(sqlite_yard: Yard) -> None:
    data = b"the same reference sample in two registrations"
    sha = hashlib.sha256(data).hexdigest()
    sqlite_yard.stores.blobs.reserve("first", [sha])
    sqlite_yard.stores.artifacts.put_bytes(data)
    sqlite_yard.stores.blobs.reserve("second", [sha])  # deduplicates onto the first one's blob
    assert sqlite_yard.stores.blobs.discard("first", [sha]) == []
    assert sqlite_yard.stores.artifacts.exists(sha)
    assert sqlite_yard.stores.blobs.discard("second", [sha]) == [sha]
    assert not sqlite_yard.stores.artifacts.exists(sha)


def test_gc_frees_the_bytes_of_a_deleted_version(sqlite_yard: Yard, logreg, cancer) -> None:
    version = sqlite_yard.register(logreg, "churn", sample=cancer[0])
    sqlite_yard.delete_version("churn", 1, reason="mistake")
    removed = {sha for sha, _ in sqlite_yard.gc(dry_run=False, grace_seconds=0).orphan_blobs}
    assert removed == {f.sha256 for f in version.files}
    assert sqlite_yard.audit(action="gc")[0].details["blobs"] == 2


def test_gc_removes_temp_files_of_dead_writers_only(sqlite_yard: Yard) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tmp_dir = Path(sqlite_yard.stores.artifacts.root) / "tmp"
    stale = tmp_dir / f"{dead}-abandoned"
    stale.write_bytes(b"half a model")
    live = tmp_dir / f"{os.getpid()}-in-flight"
    live.write_bytes(b"being written")
    report = sqlite_yard.gc(dry_run=False, grace_seconds=3600)
    assert [Path(p).name for p, _ in report.temp_files] == [stale.name]
    assert not stale.exists()
    assert live.exists()


def test_gc_rejects_a_negative_grace_period(sqlite_yard: Yard) -> None:
    from modelyard import InvalidInput

    with pytest.raises(InvalidInput, match="grace period must be >= 0"):
        sqlite_yard.gc(grace_seconds=-1)
