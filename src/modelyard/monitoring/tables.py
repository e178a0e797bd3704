"""Opening the tables ``modelyard drift`` compares, without loading them: a file, a folder
of files (partitioned or not), a glob, or any of these on a remote filesystem (``s3://…``,
through fsspec), read record batch by record batch with pyarrow's Parquet, CSV and JSON
readers (Hive partition keys in folder names are not read as columns).

Errors name the file: a table of many files fails on the one that is damaged. A table is
cut into parts (a file, or a run of a Parquet file's row groups) that any engine can read
apart: every batch comes with its rows' positions, so work merged from parts is the same
whatever the parts.
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

from modelyard.data_files import WILDCARDS, is_data, search_root
from modelyard.errors import InvalidInput, first_line
from modelyard.row_groups import row_group_runs

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "json"}
FORMAT_NAMES = {"csv": "csv", "parquet": "parquet", "json": "jsonl"}
BATCH_ROWS = 131_072  # rows per record batch: what one step of the scan holds per column
BLOCK_BYTES = 1 << 20  # CSV parse unit (pyarrow's default); bounds the reader's memory
PART_ROWS = 1_000_000  # most rows per part (whole Parquet row groups; a CSV file is one part)


@dataclass(frozen=True)
class Part:
    """Rows of one file: all of them, or the row groups ``groups`` of a Parquet file whose
    first row is row ``start`` of the file."""

    file: int  # the file's position in the table
    start: int
    rows: int | None  # None: a CSV or JSON file, whose rows are known once read
    groups: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Table:
    """An opened input: its label (as the user wrote it), format, files and schema."""

    label: str
    fmt: str
    files: list[str]
    filesystem: Any  # an fsspec filesystem; None for local files
    schema: pa.Schema
    groups: tuple[tuple[int, ...], ...] | None = None  # rows per row group, per Parquet file

    def batches(self, columns: Sequence[str], rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The chosen columns, batch by batch, file after file (pyarrow decodes a Parquet
        row group's columns on its own threads)."""
        for index in range(len(self.files)):
            for _, batch in self.scan(Part(index, 0, None), columns, rows):
                yield batch

    def scan(
        self, part: Part, columns: Sequence[str], rows: int = BATCH_ROWS
    ) -> Iterator[tuple[int, pa.RecordBatch]]:
        """The chosen columns of ``part``, batch by batch, each with its first row's
        position in the file."""
        path = self.files[part.file]
        position = part.start
        try:
            with _open(path, self.filesystem) as source:
                for batch in _read(source, self.fmt, list(columns), rows, self.schema, part.groups):
                    yield position, batch
                    position += batch.num_rows
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise self.unreadable(path, exc) from None

    def parts(self, most_rows: int = PART_ROWS) -> list[Part]:
        """The table cut into parts of at most ``most_rows`` rows (or one row group)."""
        if most_rows < 1:
            raise InvalidInput(f"a part holds at least 1 row, not {most_rows}")
        out: list[Part] = []
        for index in range(len(self.files)):
            sizes = self.groups[index] if self.groups is not None else None
            if not sizes:
                out.append(Part(index, 0, 0 if sizes is not None else None, None))
                continue
            start = 0
            for run in row_group_runs(sizes, most_rows):
                rows = sum(sizes[i] for i in run)
                out.append(Part(index, start, rows, run))
                start += rows
        return out

    @property
    def rows(self) -> int | None:
        """Rows of the whole table when its files record them (Parquet), else None."""
        return None if self.groups is None else sum(sum(g) for g in self.groups)

    def unreadable(self, path: str, exc: BaseException) -> InvalidInput:
        return _unreadable(path, self.fmt, exc)


def _unreadable(path: str, fmt: str, exc: BaseException) -> InvalidInput:
    name = Path(path).name
    return InvalidInput(f"{name}: cannot read as {FORMAT_NAMES[fmt]}: {first_line(exc)[:200]}")


def _open(path: str, filesystem: Any) -> Any:
    """pyarrow's native file locally (its reads release the interpreter lock)."""
    return pa.OSFile(path, "r") if filesystem is None else filesystem.open(path, "rb")


def _read(
    source: Any,
    fmt: str,
    columns: list[str],
    rows: int,
    schema: pa.Schema | None,
    groups: Sequence[int] | None = None,
) -> Iterator[pa.RecordBatch]:
    """pyarrow's own streaming readers (pyarrow.dataset would import pandas: 0.4 s)."""
    if fmt == "parquet":
        yield from pq.ParquetFile(source).iter_batches(
            rows, row_groups=groups, columns=columns, use_threads=True
        )
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


def _schema(path: str, fmt: str, filesystem: Any) -> tuple[pa.Schema, tuple[int, ...]]:
    """The file's schema, and its row groups' sizes (Parquet; empty for other formats)."""
    with _open(path, filesystem) as source:
        if fmt == "parquet":
            opened = pq.ParquetFile(source)
            meta = opened.metadata
            sizes = tuple(meta.row_group(i).num_rows for i in range(meta.num_row_groups))
            return opened.schema_arrow, sizes
        if fmt == "csv":
            reader = pa_csv.open_csv(
                source, read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES)
            )
            return reader.schema, ()
        return pa_json.open_json(source).schema, ()


def open_table(location: str) -> Table:
    """A file, folder or glob, local or ``scheme://``; refused with the file named when it
    cannot be read or matches nothing."""
    filesystem, files, fmt = _files(location)
    schema: pa.Schema | None = None
    groups: list[tuple[int, ...]] = []
    for path in files:  # every Parquet footer now: a damaged file is named before any work
        try:
            if schema is None or fmt == "parquet":
                found, sizes = _schema(path, fmt, filesystem)
                schema = schema or found
                groups.append(sizes)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise _unreadable(path, fmt, exc) from None
    assert schema is not None
    if len(schema) == 0:
        raise InvalidInput(f"{Path(files[0]).name}: no columns")
    sizes_known = tuple(groups) if fmt == "parquet" else None
    return Table(location, fmt, files, filesystem, schema, sizes_known)


def _files(location: str) -> tuple[Any, list[str], str]:
    if "://" in location and not location.startswith("file://"):
        return _remote(location)
    path = location.removeprefix("file://")
    if WILDCARDS & set(path):
        found = sorted(
            str(Path(p).resolve())
            for p in glob.glob(path, recursive=True)
            if Path(p).is_file() and is_data(p, search_root(path))
        )
        if not found:
            raise InvalidInput(f"{location}: no file matches")
        return None, found, _format(found[0])
    target = Path(path)
    if target.is_dir():
        found = sorted(
            str(p.resolve())
            for p in target.rglob("*")
            if p.is_file() and p.suffix.lower() in FORMATS and is_data(str(p), str(target))
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
    return None, [str(target.resolve())], fmt


def _remote(location: str) -> tuple[Any, list[str], str]:
    import fsspec

    try:
        filesystem, path = fsspec.core.url_to_fs(location)
        if WILDCARDS & set(path):
            matched = filesystem.glob(path, detail=True)
            found = sorted(str(p) for p, info in matched.items() if info.get("type") != "directory")
        elif filesystem.isdir(path):
            found = sorted(
                str(p) for p in filesystem.find(path) if Path(str(p)).suffix.lower() in FORMATS
            )
        else:
            found = [path] if filesystem.exists(path) else []
        root = search_root(path) if WILDCARDS & set(path) else path
        found = [p for p in found if is_data(p, root)]
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
