"""The local batch engine: stream a Parquet/CSV file through a model chunk by chunk.

Memory is bounded by the chunk size, whatever the file size. Rows are checked against the
signature exactly as the server checks requests; bad rows either stop the run
(``on_error="fail"``) or are skipped and reported (``"skip"``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import Conflict, InvalidInput, NotFound, SchemaMismatch
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.predictor import Predictor
from modelyard.runtime.runner import ModelRunner
from modelyard.tabular import table_format

Progress = Callable[[int, int | None], None]  # (rows done, rows in all if known)
MAX_REPORTED = 1000


@dataclass
class BatchReport:
    rows_in: int = 0
    rows_out: int = 0
    skipped: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)  # first MAX_REPORTED


def score_file(
    predictor: Predictor,
    source: Path,
    dest: Path,
    *,
    id_column: str | None = None,
    on_error: str = "fail",
    chunk_rows: int = 50_000,
    progress: Progress | None = None,
) -> BatchReport:
    if on_error not in ("fail", "skip"):
        raise InvalidInput(f"on_error must be 'fail' or 'skip', got {on_error!r}")
    if chunk_rows < 1:
        raise InvalidInput(f"chunk size must be at least 1 row, got {chunk_rows}")
    if not source.is_file():
        raise NotFound(f"{source}: no such file")
    out_format = table_format(dest)
    if out_format not in ("parquet", "csv"):
        raise InvalidInput(f"{dest.name}: write .parquet or .csv")
    if dest.exists():
        raise Conflict(f"{dest} already exists; choose a new output file")
    report = BatchReport()
    runner = ModelRunner(predictor, native_threads=os.cpu_count() or 1)  # nothing else runs
    tmp = dest.with_name(f".{dest.name}.partial")
    writer = _Writer(tmp, out_format)
    try:
        chunks, total = _chunks(source, chunk_rows, id_column)
        is_csv = table_format(source) == "csv"
        wanted = set(predictor.signature.names)
        for raw in chunks:
            chunk = _numbers_from_text(raw, predictor) if is_csv else raw
            start = report.rows_in
            report.rows_in += len(chunk)
            ids = _ids(chunk, id_column)
            # Columns the model does not take (labels, ids, notes) are not its business.
            features = chunk[[c for c in chunk.columns if c in wanted]]
            good = _good_rows(predictor, features, start, on_error, report)
            if good.any():
                columns = from_frame(predictor.signature, features[good].reset_index(drop=True))
                output = runner.submit(columns).result()
                writer.write(
                    _result_frame(
                        predictor, output, ids[good] if ids is not None else None, id_column
                    )
                )
                report.rows_out += int(good.sum())
            if progress is not None:
                progress(report.rows_in, total)
        writer.close()
        tmp.replace(dest)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        runner.close()
    return report


def _chunks(
    source: Path, rows: int, id_column: str | None
) -> tuple[Iterator[pd.DataFrame], int | None]:
    fmt = table_format(source)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(source)
        except Exception as exc:  # pyarrow's own error types
            raise InvalidInput(f"{source.name}: cannot read as parquet: {exc}") from None
        batches = (b.to_pandas() for b in parquet.iter_batches(batch_size=rows))
        return batches, parquet.metadata.num_rows
    if fmt == "csv":
        try:
            # Ids are text: a column that looks numeric in one chunk and not in the next must
            # not change type half-way through the output.
            dtype = {id_column: str} if id_column else None
            reader = pd.read_csv(source, chunksize=rows, dtype=dtype)
        except (ValueError, OSError, pd.errors.ParserError) as exc:
            raise InvalidInput(f"{source.name}: cannot read as csv: {exc}") from None
        return _guarded(reader, source.name), None
    raise InvalidInput(f"{source.name}: batch scoring reads .parquet or .csv")


def _numbers_from_text(chunk: pd.DataFrame, predictor: Predictor) -> pd.DataFrame:
    """CSV has no types: a numeric column with one bad cell arrives as text. Convert what
    converts and leave the bad cells as they are, so only they are reported."""
    for spec in predictor.signature.inputs:
        column = chunk.get(spec.name)
        if spec.numeric and column is not None and not pd.api.types.is_numeric_dtype(column):
            original = chunk[spec.name]
            converted = pd.to_numeric(original, errors="coerce")
            bad = converted.isna() & original.notna()
            if bad.any():
                mixed = converted.astype(object)
                mixed[bad] = original[bad]
                chunk[spec.name] = mixed
            else:
                chunk[spec.name] = converted
    return chunk


def _guarded(reader: Iterator[pd.DataFrame], label: str) -> Iterator[pd.DataFrame]:
    try:
        yield from reader
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{label}: cannot read as csv: {exc}") from None


def _ids(chunk: pd.DataFrame, id_column: str | None) -> np.ndarray | None:
    if id_column is None:
        return None
    if id_column not in chunk.columns:
        raise SchemaMismatch(f"id column {id_column!r} is not in the input")
    return np.asarray(chunk[id_column].to_numpy())


def _good_rows(
    predictor: Predictor, features: pd.DataFrame, start: int, on_error: str, report: BatchReport
) -> np.ndarray:
    problems = predictor.signature.problems(features)
    good = np.ones(len(features), dtype=bool)
    if not problems:
        return good
    whole_table = [p for p in problems if p["row"] is None]
    if whole_table or on_error == "fail":
        first = (whole_table or problems)[0]
        row = _row_of(first)
        where = f" in row {start + row}" if row is not None else ""
        raise SchemaMismatch(
            f"feature {first['feature']!r}{where}: {first['rule']}",
            [{**p, "row": _shift(_row_of(p), start)} for p in problems],
        )
    # signature.problems stops at 100 per call: re-check until every bad row is found
    bad = _all_bad_rows(predictor, features)
    good[list(bad)] = False
    report.skipped += len(bad)
    for row in sorted(bad):
        if len(report.problems) >= MAX_REPORTED:
            break
        for problem in predictor.signature.problems(features.iloc[[row]]):
            report.problems.append({**problem, "row": start + row})
    return good


def _row_of(problem: dict[str, object]) -> int | None:
    row = problem["row"]
    return row if isinstance(row, int) else None


def _shift(row: int | None, start: int) -> int | None:
    return None if row is None else start + row


def _all_bad_rows(predictor: Predictor, features: pd.DataFrame) -> set[int]:
    bad: set[int] = set()
    remaining = np.arange(len(features))
    while remaining.size:
        found = {
            row
            for p in predictor.signature.problems(features.iloc[remaining])
            if (row := _row_of(p)) is not None
        }
        if not found:
            break
        bad.update(int(remaining[i]) for i in found)
        keep = np.ones(remaining.size, dtype=bool)
        keep[list(found)] = False
        remaining = remaining[keep]
    return bad


def _result_frame(
    predictor: Predictor, output: Any, ids: np.ndarray | None, id_column: str | None
) -> pd.DataFrame:
    data: dict[str, Any] = {}
    if ids is not None and id_column is not None:
        data[id_column] = ids
    data["prediction"] = output.predictions
    if output.probabilities is not None:
        classes = predictor.signature.output.classes or range(output.probabilities.shape[1])
        for index, label in enumerate(classes):
            data[f"probability_{label}"] = output.probabilities[:, index]
    return pd.DataFrame(data)


class _Writer:
    """Appends chunks to one Parquet or CSV file as they are computed."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self._parquet: Any = None
        self._csv_started = False

    def write(self, frame: pd.DataFrame) -> None:
        if self.fmt == "csv":
            frame.to_csv(
                self.path,
                mode="a" if self._csv_started else "w",
                header=not self._csv_started,
                index=False,
            )
            self._csv_started = True
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.path, table.schema)
        elif table.schema != self._parquet.schema:
            try:
                table = table.cast(self._parquet.schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InvalidInput(
                    f"a later chunk's columns have other types than the first "
                    f"chunk's ({exc}); use one type per column"
                ) from None
        self._parquet.write_table(table)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self.fmt == "parquet" and not self.path.exists():
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({"prediction": pa.array([], pa.float64())}), self.path)
        if self.fmt == "csv" and not self._csv_started:
            self.path.write_text("prediction\n")
