"""Opening the tables ``modelyard drift`` compares, without loading them: a file, a folder
of files (partitioned or not), a glob, or any of these on a remote filesystem (``s3://…``,
through fsspec), read record batch by record batch with pyarrow's Parquet, CSV and JSON
readers (Hive partition keys in folder names are not read as columns).

Errors name the file: a table of many files fails on the one that is damaged.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from modelyard.errors import InvalidInput, first_line

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "json"}
FORMAT_NAMES = {"csv": "csv", "parquet": "parquet", "json": "jsonl"}
BATCH_ROWS = 131_072  # rows per record batch: what one step of the scan holds per column
BLOCK_BYTES = 1 << 20  # CSV parse unit (pyarrow's default); bounds the reader's memory
WILDCARDS = frozenset("*?[")


@dataclass(frozen=True)
class Table:
    """An opened input: its label (as the user wrote it), format, files and schema."""

    label: str
    fmt: str
    files: list[str]
    filesystem: Any  # an fsspec filesystem; None for local files
    schema: pa.Schema

    def batches(self, columns: Sequence[str], rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The chosen columns, batch by batch, file after file (pyarrow decodes a Parquet
        row group's columns on its own threads)."""
        for path in self.files:
            try:
                with _open(path, self.filesystem) as source:
                    yield from _read(source, self.fmt, list(columns), rows, self.schema)
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise self.unreadable(path, exc) from None

    def unreadable(self, path: str, exc: BaseException) -> InvalidInput:
        return _unreadable(path, self.fmt, exc)


def _unreadable(path: str, fmt: str, exc: BaseException) -> InvalidInput:
    name = Path(path).name
    return InvalidInput(f"{name}: cannot read as {FORMAT_NAMES[fmt]}: {first_line(exc)[:200]}")


def _open(path: str, filesystem: Any) -> Any:
    """pyarrow's native file locally (its reads release the interpreter lock)."""
    return pa.OSFile(path, "r") if filesystem is None else filesystem.open(path, "rb")


def _read(
    source: Any, fmt: str, columns: list[str], rows: int, schema: pa.Schema | None
) -> Iterator[pa.RecordBatch]:
    """pyarrow's own streaming readers (pyarrow.dataset would import pandas: 0.4 s)."""
    if fmt == "parquet":
        yield from pq.ParquetFile(source).iter_batches(rows, columns=columns, use_threads=True)
        return
    if fmt == "csv":
        types = {f.name: f.type for f in schema} if schema is not None else None
        reader = pa_csv.open_csv(
            source,
            read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES),
            convert_options=pa_csv.ConvertOptions(
                column_types=types, include_columns=columns or None
            ),
        )
        yield from reader
        return
    for batch in pa_json.open_json(source):
        yield batch.select(columns)


def _schema(path: str, fmt: str, filesystem: Any) -> pa.Schema:
    with _open(path, filesystem) as source:
        if fmt == "parquet":
            return pq.ParquetFile(source).schema_arrow
        if fmt == "csv":
            return pa_csv.open_csv(
                source, read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES)
            ).schema
        return pa_json.open_json(source).schema


def open_table(location: str) -> Table:
    """A file, folder or glob, local or ``scheme://``; refused with the file named when it
    cannot be read or matches nothing."""
    filesystem, files, fmt = _files(location)
    schema: pa.Schema | None = None
    for path in files:  # every Parquet footer now: a damaged file is named before any work
        try:
            if schema is None or fmt == "parquet":
                found = _schema(path, fmt, filesystem)
                schema = schema or found
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise _unreadable(path, fmt, exc) from None
    assert schema is not None
    if len(schema) == 0:
        raise InvalidInput(f"{Path(files[0]).name}: no columns")
    return Table(location, fmt, files, filesystem, schema)


def _files(location: str) -> tuple[Any, list[str], str]:
    if "://" in location and not location.startswith("file://"):
        return _remote(location)
    path = location.removeprefix("file://")
    if WILDCARDS & set(path):
        found = sorted(p for p in glob.glob(path, recursive=True) if Path(p).is_file())
        if not found:
            raise InvalidInput(f"{location}: no file matches")
        return None, found, _format(found[0])
    target = Path(path)
    if target.is_dir():
        found = sorted(
            str(p) for p in target.rglob("*") if p.is_file() and p.suffix.lower() in FORMATS
        )
        if not found:
            raise InvalidInput(f"{target.name}: no such file, and the folder holds no data files")
        formats = {_format(f) for f in found}
        if len(formats) > 1:
            raise InvalidInput(f"{target.name}: the folder mixes {', '.join(sorted(formats))}")
        return None, found, formats.pop()
    fmt = _format(path)
    if not target.is_file():
        raise InvalidInput(f"{target.name}: no such file")
    return None, [str(target)], fmt


def _remote(location: str) -> tuple[Any, list[str], str]:
    import fsspec

    try:
        filesystem, path = fsspec.core.url_to_fs(location)
        if WILDCARDS & set(path):
            found = sorted(str(p) for p in filesystem.glob(path))
        elif filesystem.isdir(path):
            found = sorted(
                str(p) for p in filesystem.find(path) if Path(str(p)).suffix.lower() in FORMATS
            )
        else:
            found = [path] if filesystem.exists(path) else []
    except (ImportError, OSError, ValueError) as exc:
        raise InvalidInput(f"{location}: cannot open: {first_line(exc)[:200]}") from None
    if not found:
        raise InvalidInput(f"{location}: no file matches")
    return filesystem, found, _format(found[0])


def _format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise InvalidInput(
            f"{Path(path).name}: unsupported data format {suffix or '(none)'}; "
            f"use {', '.join(sorted(FORMATS))}"
        )
    return fmt
