"""Backups: a consistent logical dump of every table plus the blobs rows reference.

The archive (``.tar.gz``) holds ``manifest.json`` (format, schema revision, row counts,
sha256 of every member), ``db/<table>.jsonl`` and ``blobs/<sha256>``. Being logical, a
backup taken on SQLite restores onto PostgreSQL and back.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session

from modelyard.errors import Conflict, IntegrityError, InvalidInput, NotFound
from modelyard.store.artifacts import CHUNK, ArtifactStore, HashingReader, check_digest
from modelyard.store.blobs import BlobLedger, referenced
from modelyard.store.db import Database
from modelyard.store.schema import Base, UTCDateTime

FORMAT = "modelyard-backup/1"
_BLOB = re.compile(r"^blobs/[0-9a-f]{64}$")
# Reservations and lock rows are live coordination state, not data: never backed up.
_LIVE_ONLY = {"pending_blobs", "store_locks", "replica_status"}
_TABLES = {str(t.name): t for t in Base.metadata.sorted_tables if t.name not in _LIVE_ONLY}
MAX_MEMBER_JSON = 256 << 20

Rows = dict[str, list[dict[str, Any]]]  # table name -> its rows, as JSON-ready dicts
Progress = Callable[[int, int], None]  # (blobs done, blobs in all)


@dataclass(frozen=True)
class BackupReport:
    path: Path
    rows: dict[str, int]
    blobs: int
    bytes: int


@dataclass(frozen=True)
class Screened:
    """What a restore writes once the service layer has looked at the archive's rows: the
    rows to insert, and what to record about them in the same transaction."""

    rows: Rows
    record: Callable[[Session], None]


# Sees every table's rows before anything is written; may refuse, drop or change rows.
RowScreen = Callable[[Rows], Screened]


def create_backup(
    db: Database,
    ledger: BlobLedger,
    dest: Path,
    schema_revision: str | None,
    progress: Progress | None = None,
) -> BackupReport:
    """Snapshot the tables, then copy every blob they reference while reserved against gc."""
    artifacts = ledger.artifacts
    if dest.exists():
        raise Conflict(f"{dest} already exists; choose a new file name")
    if not dest.name.endswith((".tar.gz", ".tgz")):
        raise InvalidInput(f"{dest.name}: backups are .tar.gz files")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    os.close(fd)
    try:
        with db.snapshot() as session:
            dumps = {name: _dump_table(session, table) for name, table in _TABLES.items()}
            blobs = sorted(referenced(session))
        members: dict[str, str] = {}
        with ledger.reservation(blobs), tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
            for name, data in dumps.items():
                members[f"db/{name}.jsonl"] = hashlib.sha256(data).hexdigest()
                _add_bytes(tar, f"db/{name}.jsonl", data)
            for done, sha256 in enumerate(blobs, start=1):
                _add_blob(tar, artifacts, sha256)
                if progress is not None:
                    progress(done, len(blobs))
                members[f"blobs/{sha256}"] = sha256
            manifest = {
                "format": FORMAT,
                "created_at": datetime.now(UTC).isoformat(),
                "schema_revision": schema_revision,
                "rows": {name: data.count(b"\n") for name, data in dumps.items()},
                "members": members,
            }
            _add_bytes(tar, "manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return BackupReport(dest, manifest["rows"], len(blobs), dest.stat().st_size)  # type: ignore[arg-type]


def restore_backup(
    db: Database,
    artifacts: ArtifactStore,
    source: Path,
    screen: RowScreen | None = None,
    progress: Progress | None = None,
) -> BackupReport:
    """Load a backup into an empty yard; every blob and table file is verified first.

    ``screen`` sees the rows before anything is written: the service layer refuses untrusted
    models and leaves out what would act on its own (keys, commands, webhooks) unless
    trusted. Its rows and its records are written in one transaction.
    """
    if not source.is_file():
        raise NotFound(f"{source}: no such file")
    if not db.read(_is_empty):
        raise Conflict("the target yard is not empty; restore only into a new home/database")
    try:
        with tarfile.open(source, "r:gz") as tar:
            tables, blobs = _read_archive(
                tar, artifacts, source.name, db.schema_revision(), progress
            )
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise InvalidInput(f"{source.name}: not a readable modelyard backup ({exc})") from None
    rows = {
        name: list(_rows(tables.get(f"db/{name}.jsonl", b""), table, source.name))
        for name, table in _TABLES.items()
    }
    missing = {r["sha256"] for r in rows["files"]} - blobs
    if missing:
        raise IntegrityError(
            f"{source.name}: rows reference {len(missing)} blobs the archive "
            f"does not hold (e.g. sha256 {sorted(missing)[0]})"
        )
    screened = screen(rows) if screen is not None else Screened(rows, lambda session: None)

    def work(session: Session) -> dict[str, int]:
        counts = _load_tables(session, screened.rows)
        screened.record(session)
        return counts

    counts = db.write(work)
    return BackupReport(source, counts, len(blobs), source.stat().st_size)


# -- dumping ------------------------------------------------------------------------------


def _dump_table(session: Session, table: Table) -> bytes:
    out = io.BytesIO()
    order = list(table.primary_key.columns)
    for row in session.execute(select(table).order_by(*order)).mappings():
        out.write(orjson.dumps({k: _plain(v) for k, v in row.items()}))
        out.write(b"\n")
    return out.getvalue()


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _add_blob(tar: tarfile.TarFile, artifacts: ArtifactStore, sha256: str) -> None:
    info = tarfile.TarInfo(f"blobs/{sha256}")
    info.size = artifacts.blob_size(sha256)
    info.mtime = int(time.time())
    with artifacts.open_blob(sha256, f"blob {sha256}") as handle:
        reader = HashingReader(handle)
        tar.addfile(info, reader)
    check_digest(f"blob {sha256}", sha256, reader.hexdigest())


# -- restoring ----------------------------------------------------------------------------


def _read_archive(
    tar: tarfile.TarFile,
    artifacts: ArtifactStore,
    label: str,
    schema_revision: str | None,
    progress: Progress | None,
) -> tuple[dict[str, bytes], set[str]]:
    manifest = _read_manifest(tar, label)
    if manifest.get("schema_revision") != schema_revision:
        raise InvalidInput(
            f"{label} was written by schema revision {manifest.get('schema_revision')!r}; this "
            f"modelyard is at {schema_revision!r}. Restore with the modelyard that wrote it"
        )
    members: dict[str, str] = manifest["members"]
    listed_blobs = sum(1 for m in members if m.startswith("blobs/"))
    tables: dict[str, bytes] = {}
    blobs: set[str] = set()
    for info in tar:
        if info.name == "manifest.json":
            continue
        expected = members.get(info.name)
        if expected is None or not info.isfile():
            raise InvalidInput(f"{label}: unexpected member {info.name!r}")
        handle = tar.extractfile(info)
        if handle is None:
            raise InvalidInput(f"{label}: {info.name} is not a regular file")
        if _BLOB.match(info.name):
            _restore_blob(artifacts, handle, expected, info.size)
            blobs.add(expected)
            if progress is not None:
                progress(len(blobs), listed_blobs)
            continue
        if info.size > MAX_MEMBER_JSON:
            raise InvalidInput(f"{label}: {info.name} is too large")
        data = handle.read()
        found = hashlib.sha256(data).hexdigest()
        if found != expected:
            raise IntegrityError(
                f"{label}: {info.name} is corrupted: expected sha256 {expected}, found {found}"
            )
        tables[info.name] = data
    missing = [m for m in members if m.startswith("db/") and m not in tables]
    if missing or len(blobs) != listed_blobs:
        raise IntegrityError(f"{label}: members listed in the manifest are missing")
    return tables, blobs


def _read_manifest(tar: tarfile.TarFile, label: str) -> dict[str, Any]:
    try:
        info = tar.getmember("manifest.json")
    except KeyError:
        raise InvalidInput(f"{label}: not a modelyard backup (no manifest.json)") from None
    handle = tar.extractfile(info)
    if handle is None or info.size > 64 << 20:
        raise InvalidInput(f"{label}: manifest.json is not a regular file of sane size")
    try:
        manifest = orjson.loads(handle.read())
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{label}: manifest.json is not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput(
            f"{label}: unknown backup format {manifest.get('format')!r}"
            if isinstance(manifest, dict)
            else f"{label}: bad manifest"
        )
    if not isinstance(manifest.get("members"), dict):
        raise InvalidInput(f"{label}: manifest.json lists no members")
    return manifest


def _restore_blob(artifacts: ArtifactStore, handle: IO[bytes], sha256: str, size: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix="modelyard-restore-")
    try:
        with os.fdopen(fd, "wb") as out:
            reader = HashingReader(handle)
            while chunk := reader.read(CHUNK):
                out.write(chunk)
        check_digest(f"backup blob {sha256}", sha256, reader.hexdigest())
        blob = artifacts.put_file(Path(tmp))
        if blob.sha256 != sha256 or blob.size != size:
            raise IntegrityError(f"backup blob {sha256} changed while being restored")
    finally:
        os.unlink(tmp)


def _is_empty(session: Session) -> bool:
    for name in ("models", "runs", "datasets", "audit_events"):
        if session.scalar(select(func.count()).select_from(_TABLES[name])):
            return False
    return True


def _rows(data: bytes, table: Table, label: str) -> Iterator[dict[str, Any]]:
    """Parse one table's JSON lines; anything that is not this schema's rows is refused."""
    columns = {c.name: c for c in table.columns}
    required = {c.name for c in table.columns if not c.nullable and c.default is None}
    for number, line in enumerate(data.splitlines(), start=1):
        where = f"{label}: db/{table.name}.jsonl line {number}"
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"{where} is not JSON: {exc}") from None
        if not isinstance(raw, dict) or set(raw) - set(columns) or required - set(raw):
            raise InvalidInput(f"{where} does not match this schema")
        row = {}
        for key, value in raw.items():
            if isinstance(columns[key].type, UTCDateTime) and value is not None:
                row[key] = _timestamp(value, where)
            else:
                row[key] = value
        yield row


def _timestamp(value: object, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput(f"{where}: {value!r} is not a timestamp with a time zone")
    return parsed


def _load_tables(session: Session, rows: Rows) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, table in _TABLES.items():
        if rows.get(name):
            try:
                session.execute(insert(table), rows[name])
            except (DBAPIError, StatementError) as exc:
                raise InvalidInput(
                    f"backup rows of {name} were refused by the database: "
                    f"{str(exc.orig if isinstance(exc, DBAPIError) else exc)[:200]}"
                ) from None
        counts[name] = len(rows.get(name, []))
    if session.get_bind().dialect.name == "postgresql":
        for name, table in _TABLES.items():
            for column in table.primary_key.columns:
                if column.autoincrement is True or (
                    column.autoincrement == "auto"
                    and column.type.python_type is int
                    and len(table.primary_key.columns) == 1
                ):
                    session.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', '{column.name}'), "
                            f"COALESCE((SELECT MAX({column.name}) FROM {name}), 0) + 1, false)"
                        )
                    )
    return counts
