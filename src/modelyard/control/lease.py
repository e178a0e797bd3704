"""The controller lease: only one controller acts at a time, however many replicas run one.

PostgreSQL: a session-level advisory lock held on a dedicated connection — the server
frees it when that connection dies, so a crashed controller's lease passes on by itself.
SQLite: an exclusive ``flock`` on a file beside the database — the kernel frees it when
the process dies. Both are non-blocking: a controller without the lease just waits and
tries again.
"""

from __future__ import annotations

import fcntl
import logging
import os
from typing import IO, Protocol

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from modelyard.errors import InvalidInput, first_line
from modelyard.store.db import Database

log = logging.getLogger(__name__)

# A fixed 64-bit key for pg_try_advisory_lock: "modelyard controller" hashed once.
ADVISORY_KEY = 0x6D6F_64C3_7961_7264


class Lease(Protocol):
    def acquire(self) -> bool:
        """True when this process holds the lease now (taking it if free)."""

    def release(self) -> None: ...


class FileLease:
    def __init__(self, path: str) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> bool:
        if self._handle is not None:
            return True
        handle = open(self.path, "a+")  # noqa: SIM115 — held open for as long as the lease
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class AdvisoryLease:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        if self._connection is not None:
            try:  # still ours only while the connection that took it lives
                self._connection.execute(text("SELECT 1"))
                return True
            except Exception as exc:
                log.warning("controller lease lost with its connection: %s", first_line(exc))
                self._drop()
        try:
            # Autocommit: the liveness ping must not leave the session "idle in transaction"
            # (servers may kill those, and with them the lease).
            connection = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except Exception as exc:
            log.warning("cannot reach the database for the controller lease: %s", first_line(exc))
            return False
        try:
            held = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar()
        except Exception as exc:
            log.warning("cannot take the controller lease: %s", first_line(exc))
            connection.close()
            return False
        if not held:
            connection.close()  # it holds nothing: back to the pool is fine
            return False
        self._connection = connection
        return True

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            self._connection.commit()
        except Exception:  # closing the connection frees it anyway
            log.debug("advisory unlock failed", exc_info=True)
        self._drop()

    def _drop(self) -> None:
        """Discard the connection rather than pool it: a session that might still hold
        the lock must end, or nobody could take the lease while this process lives."""
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:
                log.debug("closing the lease connection failed", exc_info=True)
            self._connection = None


def lease_for(db: Database) -> Lease:
    if db.dialect == "postgresql":
        return AdvisoryLease(db)
    database = make_url(db.url).database
    if not database or database == ":memory:":
        raise InvalidInput("an in-memory SQLite database cannot share a controller lease")
    return FileLease(f"{database}.controller-lock")
