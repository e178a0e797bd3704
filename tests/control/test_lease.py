"""Only one controller acts: a file lock on SQLite, an advisory lock on PostgreSQL."""

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from modelyard.control.lease import AdvisoryLease, FileLease, lease_for
from modelyard.store.db import Database


def test_a_file_lease_has_one_holder_at_a_time(tmp_path: Path) -> None:
    path = str(tmp_path / "yard.db.controller-lock")
    first, second = FileLease(path), FileLease(path)
    assert first.acquire()
    assert first.acquire()  # holding it already
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_sqlite_yards_lease_a_file_beside_the_database(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'yard.db'}")
    lease = lease_for(db)
    assert isinstance(lease, FileLease)
    assert lease.path.endswith("yard.db.controller-lock")
    db.dispose()


def test_an_advisory_lease_passes_on_when_its_connection_dies(pg_url: str) -> None:
    one, two = Database(pg_url), Database(pg_url)
    first, second = AdvisoryLease(one), AdvisoryLease(two)
    try:
        assert isinstance(lease_for(one), AdvisoryLease)
        assert first.acquire()
        assert first.acquire()  # the liveness ping
        with one.engine.connect() as probe:
            states = probe.execute(
                text(
                    "SELECT state FROM pg_stat_activity WHERE query LIKE 'SELECT 1%' "
                    "AND datname = current_database()"  # other tests' sessions are theirs
                )
            ).scalars()
            assert "idle in transaction" not in list(states)
        assert not second.acquire()
        assert first._connection is not None
        first._connection.invalidate()  # as if the process holding it had crashed
        first._connection = None
        # The server frees the lock when the dead session's backend exits, which on a busy
        # machine is not the same instant as the socket closing.
        assert _eventually(second.acquire)
        assert not first.acquire()
        second.release()
        assert first.acquire()
    finally:
        first.release()
        second.release()
        one.dispose()
        two.dispose()


def _eventually(attempt: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while not attempt():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
