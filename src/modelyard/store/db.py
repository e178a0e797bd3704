"""The database: one engine per yard, write transactions that serialise, migrations on open.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE`` so two writers queue on the lock instead of failing with
"database is locked" when a read transaction tries to upgrade. PostgreSQL serialises
per model through ``SELECT … FOR UPDATE`` on the model's row.
"""

from __future__ import annotations

import fcntl
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.exc import IntegrityError as SQLIntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from modelyard.errors import Conflict, InvalidInput, StoreUnavailable, first_line

T = TypeVar("T")
log = logging.getLogger(__name__)

SQLITE_BUSY_MS = 60_000
_RETRIES = 8
_MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision (tests check it against the scripts) and alembic's table.
SCHEMA_HEAD = "0010"
_VERSION_TABLE = "alembic_version"


def _known_revisions() -> set[str]:
    """The revisions this release's migration scripts name (``0001_initial.py`` → 0001)."""
    return {p.name.split("_", 1)[0] for p in (_MIGRATIONS / "versions").glob("[0-9]*_*.py")}


class Database:
    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreUnavailable(f"invalid database URL {url!r}: {exc}") from None
        self.url = url
        self.dialect = parsed.get_backend_name()
        try:
            if self.dialect == "sqlite":
                self.engine = _sqlite_engine(url)
            else:
                self.engine = create_engine(
                    url,
                    pool_pre_ping=True,
                    pool_size=5,
                    max_overflow=10,
                    pool_timeout=10,
                    json_deserializer=read_json_column,
                    connect_args=_network_timeouts(dict(parsed.query)),
                )
        except ModuleNotFoundError as exc:
            raise StoreUnavailable(
                f"the driver for {parsed.drivername} is not installed ({exc.name}); "
                "for PostgreSQL install modelyard[postgres]"
            ) from None
        except NoSuchModuleError:
            raise StoreUnavailable(
                f"unsupported database {parsed.drivername!r}: use sqlite:///PATH or "
                "postgresql+psycopg://USER@HOST/DB"
            ) from None
        except OSError as exc:
            raise StoreUnavailable(f"cannot create the database folder: {exc}") from None
        self._writer = self.engine.execution_options(modelyard_write=True)

    # -- transactions ---------------------------------------------------------------------

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one write transaction, retried on transient lock errors."""
        return self._run(self._writer, work)

    def read(self, work: Callable[[Session], T]) -> T:
        return self._run(self.engine, work)

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read transaction that sees one consistent state (for backups)."""
        engine = self.engine
        if self.dialect == "postgresql":
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session

    def _run(self, engine: Engine, work: Callable[[Session], T]) -> T:
        delay = 0.01
        for attempt in range(_RETRIES):
            try:
                with Session(engine, expire_on_commit=False) as session, session.begin():
                    return work(session)
            except DataError as exc:  # a value one backend accepts and the other refuses
                raise InvalidInput(f"value refused by the database: {_first_line(exc)}") from None
            except SQLIntegrityError as exc:
                raise Conflict(f"refused by the database: {_first_line(exc)}") from None
            except DBAPIError as exc:
                if not _transient(exc) or attempt == _RETRIES - 1:
                    if isinstance(exc, OperationalError) and not _transient(exc):
                        raise StoreUnavailable(f"database error: {exc.orig}") from exc
                    raise
                log.info("transient database error, retrying: %s", exc.orig)
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the newest revision; safe when many processes open at once.

        A yard already at ``SCHEMA_HEAD`` opens with one query and without importing alembic,
        which would otherwise be a good part of every command's start-up.
        """
        try:
            revision = self.schema_revision()
            if revision == SCHEMA_HEAD:
                return
            if revision is not None and revision not in _known_revisions():
                raise Conflict(
                    f"the database {self.safe_url} has schema revision {revision}, which this "
                    f"modelyard does not know (its newest is {SCHEMA_HEAD}): a newer release "
                    "wrote it; upgrade modelyard here (a database is never migrated down)"
                )
            self._upgrade()
        except DBAPIError as exc:
            raise StoreUnavailable(
                f"cannot open the database {self.safe_url}: {_first_line(exc)}"
            ) from None

    def _upgrade(self) -> None:
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self._migration_lock(), self.engine.begin() as conn:
            if MigrationContext.configure(conn).get_current_revision() == SCHEMA_HEAD:
                return  # another process migrated while this one waited for the lock
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.dialect == "sqlite":
            database = make_url(self.url).database
            if not database or database == ":memory:":
                yield
                return
            with open(f"{database}.migrate-lock", "w") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        else:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(727001)"))
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(727001)"))
                    conn.commit()

    def schema_revision(self) -> str | None:
        """The revision alembic recorded, read as alembic reads it (None: a new database)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table(_VERSION_TABLE):
                return None
            return conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


# libpq's own timeouts, unless the URL sets them: a connection attempt to a server that
# does not answer gives up, and a connection whose server vanished is noticed (keepalives,
# and unacknowledged data) instead of hanging a thread for the kernel's default of minutes.
_PG_TIMEOUTS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


def _network_timeouts(query: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in _PG_TIMEOUTS.items() if k not in query}


def _first_line(exc: DBAPIError) -> str:
    return first_line(exc.orig if exc.orig is not None else exc)


def _transient(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return any(
        hint in message
        for hint in ("database is locked", "deadlock detected", "could not serialize", "busy")
    )


def read_json_column(text: str) -> Any:
    """JSON columns through orjson (monitor windows are read by the thousand; the standard
    library's decoder was a third of a week's summary), and the standard decoder for what
    orjson refuses (NaN and Infinity, which ``json.dumps`` writes)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # NullPool: a fresh connection per transaction is cheap on SQLite and keeps forked or
    # threaded callers from sharing a connection.
    engine = create_engine(
        url,
        poolclass=NullPool,
        connect_args={"timeout": SQLITE_BUSY_MS / 1000},
        json_deserializer=read_json_column,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("modelyard_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def insert_ignore(
    session: Session, row_class: Any, values: dict[str, Any], unique: list[str]
) -> None:
    """INSERT unless a row with the same unique key exists (racing creators both succeed)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(
            pg_insert(row_class).values(**values).on_conflict_do_nothing(index_elements=unique)
        )
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(
            sqlite_insert(row_class).values(**values).on_conflict_do_nothing(index_elements=unique)
        )


def upsert(session: Session, row_class: Any, values: dict[str, Any], unique: list[str]) -> None:
    """INSERT, or UPDATE the row with the same unique key (racing writers: the last wins)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    statement = insert(row_class).values(**values)
    changes = {k: v for k, v in values.items() if k not in unique}
    session.execute(statement.on_conflict_do_update(index_elements=unique, set_=changes))
