"""Opening the tables ``modelyard drift`` compares, without loading them: a file, a folder
of files (partitioned or not), a glob, or any of these on a remote filesystem (``s3://…``,
through fsspec), read record batch by record batch with pyarrow.dataset.

Errors name the file: a table of many files fails on the one that is damaged.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from modelyard.errors import InvalidInput, first_line

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "json"}
FORMAT_NAMES = {"csv": "csv", "parquet": "parquet", "json": "jsonl"}
BATCH_ROWS = 131_072  # rows per record batch: what one step of the scan holds per column
WILDCARDS = frozenset("*?[")


@dataclass(frozen=True)
class Table:
    """An opened input: its label (as the user wrote it), format, files and schema."""

    label: str
    fmt: str
    files: list[str]
    filesystem: Any  # a pyarrow or fsspec filesystem; None for local files
    schema: pa.Schema

    def batches(self, columns: Sequence[str], rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The chosen columns, batch by batch, file after file. pyarrow decodes ahead on its
        own threads (a little: the read-ahead is what bounds the memory besides the batch)."""
        for path in self.files:
            fragment_set = ds.dataset(
                path, format=self.fmt, filesystem=self.filesystem, schema=self.schema
            )
            scanner = fragment_set.scanner(
                columns=list(columns),
                batch_size=rows,
                batch_readahead=2,
                fragment_readahead=1,
                use_threads=True,
            )
            try:
                yield from scanner.to_batches()
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise self.unreadable(path, exc) from None

    def unreadable(self, path: str, exc: BaseException) -> InvalidInput:
        name = Path(path).name
        return InvalidInput(
            f"{name}: cannot read as {FORMAT_NAMES[self.fmt]}: {first_line(exc)[:200]}"
        )


def open_table(location: str) -> Table:
    """A file, folder or glob, local or ``scheme://``; refused with the file named when it
    cannot be read or matches nothing."""
    filesystem, files, fmt = _files(location)
    first = files[0]
    try:
        schema = ds.dataset(first, format=fmt, filesystem=filesystem).schema
        for other in files[1:]:  # every file's footer: a damaged one is named now, not later
            if fmt == "parquet":
                ds.dataset(other, format=fmt, filesystem=filesystem)
    except (pa.ArrowException, OSError, ValueError) as exc:
        path = getattr(exc, "filename", None) or _culprit(exc, files) or first
        raise InvalidInput(
            f"{Path(path).name}: cannot read as {FORMAT_NAMES[fmt]}: {first_line(exc)[:200]}"
        ) from None
    if len(schema) == 0:
        raise InvalidInput(f"{Path(first).name}: no columns")
    return Table(location, fmt, files, filesystem, schema)


def _culprit(exc: BaseException, files: list[str]) -> str | None:
    text = str(exc)
    return next((f for f in reversed(files) if f in text), None)


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
