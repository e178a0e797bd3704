"""Reading and writing the batch engine's files with pyarrow, chunk by chunk.

CSV is read with pyarrow's streaming reader (multi-threaded parsing, much faster than
pandas' parser) and only the columns the run needs are parsed. CSV has no types, and
pyarrow fixes a column's type from the first block: a stray ``oops`` in a numeric column a
million rows down would stop the read. So the model's columns are read as text and turned
into numbers chunk by chunk here (one vectorised cast; pandas' lenient conversion only when
the cast fails), leaving a cell that is no number as it is, for the signature check to
report as a bad row. Ids stay text, as they were written.

Output is written with pyarrow too (its CSV writer is ~9x faster than ``DataFrame.to_csv``
on float columns), appended chunk by chunk to one file.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa

from modelyard.domain.kinds import TENSOR
from modelyard.domain.signature import FeatureSpec, Signature
from modelyard.errors import InvalidInput, first_line
from modelyard.tabular import table_format

# pyarrow's parse unit (its default). The reader reads ahead a few dozen blocks, so this
# bounds its memory (4 MiB blocks let it hold 185 MiB); a row longer than this cannot be read.
BLOCK_BYTES = 1 << 20
# pandas' default missing-value markers, so a file means the same as with pd.read_csv
NULL_TEXTS = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)
TRUE_TEXTS = ("True", "TRUE", "true")  # what pandas reads as booleans
FALSE_TEXTS = ("False", "FALSE", "false")


@dataclass(frozen=True)
class Chunk:
    features: pd.DataFrame  # the model's columns present in the input, numbers parsed
    ids: pa.Array | None
    rows: int


class Source:
    """An open input file: its column names, its row count when the file records it, and
    its rows in chunks of exactly ``rows`` (the last one shorter)."""

    def __init__(
        self,
        label: str,
        columns: list[str],
        total: int | None,
        batches: Iterator[pa.RecordBatch],
        id_type: pa.DataType | None,
        text: bool,
    ) -> None:
        self.label = label  # "rows.csv: cannot read as csv", for errors met while reading
        self.columns = columns
        self.total = total
        self.id_type = id_type
        self.text = text  # CSV: every value arrives as text
        self._batches = batches

    def chunks(self, signature: Signature, rows: int, id_column: str | None) -> Iterator[Chunk]:
        wanted = [n for n in signature.names if n in self.columns]
        for table in _rechunk(self._batches, rows, self.label):
            ids = table.column(id_column).combine_chunks() if id_column else None
            features = table.select(wanted)
            frame = _numbers_from_text(features, signature) if self.text else features.to_pandas()
            for spec in signature.inputs:
                if spec.kind == TENSOR and spec.name in wanted and not self.text:
                    frame[spec.name] = tensor_rows(features.column(spec.name), spec)
            yield Chunk(frame, ids, table.num_rows)


def open_source(
    path: Path | BinaryIO,
    signature: Signature,
    id_column: str | None,
    *,
    name: str | None = None,
    row_groups: Sequence[int] | None = None,
) -> Source:
    """Open ``path`` (Parquet or CSV; a local file, or an open one named ``name``, as an
    fsspec URL gives) to read the model's columns and the id column; of a Parquet file,
    only ``row_groups`` when given (a partition of the Dask engine)."""
    name = name or (path.name if isinstance(path, Path) else "input")
    fmt = table_format(Path(name))
    if fmt == "parquet":
        return _open_parquet(path, name, signature, id_column, row_groups)
    if fmt == "csv":
        if signature.has_tensors:
            shapes = ", ".join(
                f"{f.name} [N, {', '.join('?' if d is None else str(d) for d in f.shape or ())}]"
                for f in signature.inputs
            )
            raise InvalidInput(
                f"{name}: the model takes tensors ({shapes}), which CSV cannot hold; "
                "give a .parquet file with a list column per tensor (nested, or flat per row)"
            )
        return _open_csv(path, name, signature, id_column)
    raise InvalidInput(f"{name}: batch scoring reads .parquet or .csv")


def _needed(columns: Sequence[str], signature: Signature, id_column: str | None) -> list[str]:
    wanted = [n for n in signature.names if n in columns]
    if id_column is not None and id_column in columns and id_column not in wanted:
        wanted.append(id_column)
    return wanted


def _open_parquet(
    path: Path | BinaryIO,
    name: str,
    signature: Signature,
    id_column: str | None,
    row_groups: Sequence[int] | None,
) -> Source:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        columns = list(parquet.schema_arrow.names)
        needed = _needed(columns, signature, id_column)
        batches = parquet.iter_batches(batch_size=64 * 1024, columns=needed, row_groups=row_groups)
    except Exception as exc:  # pyarrow's own error types
        raise InvalidInput(f"{name}: cannot read as parquet: {first_line(exc)}") from None
    id_type = parquet.schema_arrow.field(id_column).type if id_column in columns else None
    label = f"{name}: cannot read as parquet"
    metadata = parquet.metadata
    total = (
        metadata.num_rows
        if row_groups is None
        else sum(metadata.row_group(i).num_rows for i in row_groups)
    )
    return Source(label, columns, total, batches, id_type, text=False)


def _open_csv(
    path: Path | BinaryIO, name: str, signature: Signature, id_column: str | None
) -> Source:
    from pyarrow import csv

    read = csv.ReadOptions(block_size=BLOCK_BYTES)
    source: Any = path
    try:
        try:
            # A first look, for the column names; the real read parses only what it needs.
            columns = list(csv.open_csv(path, read_options=read).schema.names)
        except pa.ArrowInvalid as exc:
            # A header with no line end at all ("a,b"): pyarrow cannot tell its width.
            if (
                "infer number of columns" not in str(exc)
                or not isinstance(path, Path)
                or path.stat().st_size > BLOCK_BYTES
            ):
                raise
            text = pa.py_buffer(path.read_bytes() + b"\n")
            columns = list(csv.open_csv(pa.BufferReader(text), read_options=read).schema.names)
            source = pa.BufferReader(text)
        if not isinstance(path, Path):
            path.seek(0)  # the first look read from the open file
        needed = _needed(columns, signature, id_column)
        convert = csv.ConvertOptions(
            include_columns=needed,
            column_types=dict.fromkeys(needed, pa.string()),
            null_values=list(NULL_TEXTS),
            strings_can_be_null=True,
        )
        reader = csv.open_csv(source, read_options=read, convert_options=convert)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"{name}: cannot read as csv: {first_line(exc)}") from None
    id_type = pa.string() if id_column in columns else None
    label = f"{name}: cannot read as csv"
    return Source(label, columns, None, iter(reader), id_type, text=True)


def _rechunk(batches: Iterator[pa.RecordBatch], rows: int, label: str) -> Iterator[pa.Table]:
    """Tables of exactly ``rows`` rows (the last one shorter) from batches of any size."""
    pending: list[pa.RecordBatch] = []
    count = 0
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            break
        except (pa.ArrowInvalid, OSError) as exc:
            raise InvalidInput(f"{label}: {first_line(exc)}") from None
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def tensor_rows(column: pa.ChunkedArray, spec: FeatureSpec) -> np.ndarray:
    """A Parquet list column as each row's array: nested lists of one size per level are
    read as one block and cut into rows; a flat list per row takes the model's row shape
    when its length is that shape's size. Anything ragged is left to the signature's check
    row by row, which names the bad rows."""
    import pyarrow.compute as pc

    values: pa.Array = column.combine_chunks()
    rows = len(values)
    dims: list[int] = []
    while (
        pa.types.is_list(values.type)
        or pa.types.is_large_list(values.type)
        or (pa.types.is_fixed_size_list(values.type))
    ):
        lengths = pc.unique(pc.list_value_length(values))
        if values.null_count or len(lengths) != 1:
            return _one_by_one(column)
        dims.append(lengths[0].as_py())
        values = values.flatten()
    if not dims or not rows:
        return _one_by_one(column)
    batch = values.to_numpy(zero_copy_only=False).reshape(rows, *dims)
    shape = [d for d in spec.shape or () if d is not None]
    if len(dims) == 1 and len(shape) == len(spec.shape or ()) > 1 and dims[0] == math.prod(shape):
        batch = batch.reshape(rows, *shape)
    cells = np.empty(rows, dtype=object)
    cells[:] = list(batch)
    return cells


def _one_by_one(column: pa.ChunkedArray) -> np.ndarray:
    cells = np.empty(len(column), dtype=object)
    cells[:] = [None if v is None else np.asarray(v) for v in column.to_pylist()]
    return cells


def _numbers_from_text(table: pa.Table, signature: Signature) -> pd.DataFrame:
    """The model's numeric columns as numbers; a cell that is none stays text (a bad row)."""
    columns: dict[str, Any] = {}
    for name in table.column_names:
        text = table.column(name)
        spec = signature.feature(name)
        columns[name] = _parse(text, spec) if spec.numeric else text.to_pandas()
    return pd.DataFrame(columns, copy=False)


def _parse(text: pa.ChunkedArray, spec: FeatureSpec) -> pd.Series:
    """One column's text as numbers: one vectorised cast when every cell converts, else
    cell by cell (a cell that is no number stays text, for the check to report)."""
    import pyarrow.compute as pc

    if spec.kind == "bool":
        present = pc.is_valid(text)
        true = pc.is_in(text, value_set=pa.array(TRUE_TEXTS))
        false = pc.is_in(text, value_set=pa.array(FALSE_TEXTS))
        if pc.all(pc.or_(pc.invert(present), pc.or_(true, false))).as_py() is not False:
            return pc.if_else(present, true, pa.scalar(None, pa.bool_())).to_pandas()
    for target in (pa.int64(), pa.float64()) if spec.kind == "int" else (pa.float64(),):
        try:
            return pc.cast(text, target).to_pandas()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    # Lenient, like pd.read_csv (spaces around a number): convert what converts.
    original = text.to_pandas()
    converted = pd.to_numeric(original, errors="coerce")
    if spec.kind == "bool":
        converted = converted.astype(object)
        converted[original.isin(TRUE_TEXTS)] = True
        converted[original.isin(FALSE_TEXTS)] = False
    bad = converted.isna() & original.notna()
    if not bad.any():
        return converted
    mixed = converted.astype(object)
    mixed[bad] = original[bad]
    return mixed


class Writer:
    """Appends result tables to one Parquet or CSV file; every table gets the first's
    schema (a chunk whose types differ is cast, or refused with a clear error)."""

    def __init__(self, path: Path | BinaryIO, fmt: str) -> None:
        self.path = path  # a file, or an open one (an fsspec URL's)
        self.fmt = fmt
        self._out: Any = None
        self._schema: pa.Schema | None = None

    def write(self, table: pa.Table) -> None:
        if self._out is None:
            self._open(table.schema)
        elif table.schema != self._schema:
            try:
                table = table.cast(self._schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InvalidInput(
                    f"a later chunk's columns have other types than the first "
                    f"chunk's ({first_line(exc)}); use one type per column"
                ) from None
        self._out.write_table(table)

    def _open(self, schema: pa.Schema) -> None:
        if self.fmt == "csv":
            from pyarrow import csv

            self._out = csv.CSVWriter(self.path, schema)
        else:
            import pyarrow.parquet as pq

            self._out = pq.ParquetWriter(self.path, schema)
        self._schema = schema

    def finish(self, empty: pa.Schema) -> None:
        """Close the file; with no rows written, write ``empty``'s columns and no rows."""
        if self._out is None:
            self.write(empty.empty_table())
        self.close()

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


def arrow_column(values: np.ndarray) -> pa.Array:
    """A 1-D result column (NaN becomes a missing value, as pandas writes it)."""
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):  # mixed Python objects
        return pa.array([None if v is None else str(v) for v in values], pa.string())
