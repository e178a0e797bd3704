"""The local batch engine: stream a Parquet/CSV file through a model chunk by chunk.

Memory is bounded by the chunk size, whatever the file size. Rows are checked against the
signature exactly as the server checks requests; bad rows either stop the run
(``on_error="fail"``) or are skipped and reported (``"skip"``).

The stages overlap: while the model's thread scores one chunk, this thread writes the one
before and reads and checks the one after (pyarrow parses CSV blocks on threads of its own).
So the model's native thread pools get every core but one: with all of them, its OpenMP
threads wait for a core that reading and writing hold, and on a busy 2-core machine a
HistGradientBoosting chunk took several times as long with two threads as with one
(bench/RESULTS.md, batch).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from modelyard.batch.files import Writer, arrow_column, open_source
from modelyard.domain.signature import Signature
from modelyard.errors import Conflict, InvalidInput, NotFound, SchemaMismatch
from modelyard.runtime.inputs import from_checked_frame
from modelyard.runtime.predictor import Predictor
from modelyard.runtime.runner import ModelRunner, Output
from modelyard.tabular import table_format

Progress = Callable[[int, int | None], None]  # (rows done, rows in all if known)
MAX_REPORTED = 1000
IN_FLIGHT = 2  # chunks handed to the model's thread and not written yet


@dataclass
class BatchReport:
    rows_in: int = 0
    rows_out: int = 0
    skipped: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)  # first MAX_REPORTED


@dataclass(frozen=True)
class _Scoring:
    """A chunk on its way: the model call (None when every row was bad), its ids, and the
    rows read up to its end."""

    call: Future[Output] | None
    ids: pa.Array | None
    rows_done: int


def model_threads() -> int:
    """Native threads for the model: every core but one, which reading and writing use."""
    return max(1, (os.cpu_count() or 1) - 1)


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
    signature = predictor.signature
    reader = open_source(source, signature, id_column)
    _check_columns(signature, reader.columns, id_column)
    chunks = reader.chunks(signature, chunk_rows, id_column)
    report = BatchReport()
    runner = ModelRunner(predictor, native_threads=model_threads())
    tmp = dest.with_name(f".{dest.name}.partial")
    writer = Writer(tmp, out_format)
    in_flight: deque[_Scoring] = deque()

    def finish(scoring: _Scoring) -> None:
        if scoring.call is not None:
            output = scoring.call.result()
            writer.write(_result_table(predictor, output, scoring.ids, id_column))
            report.rows_out += len(output.predictions)
        if progress is not None:
            progress(scoring.rows_done, reader.total)

    try:
        for chunk in chunks:
            start = report.rows_in
            report.rows_in += chunk.rows
            good = _good_rows(predictor, chunk.features, start, on_error, report)
            features, ids = chunk.features, chunk.ids
            if not good.all():
                features = features[good]
                ids = ids.filter(pa.array(good)) if ids is not None else None
            call = runner.submit(from_checked_frame(signature, features)) if good.any() else None
            in_flight.append(_Scoring(call, ids, report.rows_in))
            while len(in_flight) > IN_FLIGHT or (in_flight and in_flight[0].call is None):
                finish(in_flight.popleft())
        while in_flight:
            finish(in_flight.popleft())
        writer.finish(_empty_result(predictor, id_column, reader.id_type))
        tmp.replace(dest)
    except BaseException:
        for scoring in in_flight:
            if scoring.call is not None:
                scoring.call.cancel()
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        runner.close()
    return report


def _check_columns(signature: Signature, columns: list[str], id_column: str | None) -> None:
    """Columns the run needs and the file lacks, before any row is read."""
    if id_column is not None and id_column not in columns:
        raise SchemaMismatch(f"id column {id_column!r} is not in the input")
    present = [name for name in signature.names if name in columns]
    problems = signature.problems(pd.DataFrame(columns=present))
    if problems:
        first = problems[0]
        raise SchemaMismatch(f"feature {first['feature']!r}: {first['rule']}", problems)


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


def _result_table(
    predictor: Predictor, output: Output, ids: pa.Array | None, id_column: str | None
) -> pa.Table:
    columns: dict[str, pa.Array] = {}
    if ids is not None and id_column is not None:
        columns[id_column] = ids
    predictions = output.predictions
    if predictions.ndim == 2 and predictions.shape[1] == 1:
        predictions = predictions[:, 0]
    if predictions.ndim == 2:  # several outputs per row
        for index in range(predictions.shape[1]):
            columns[f"prediction_{index}"] = arrow_column(predictions[:, index])
    else:
        columns["prediction"] = arrow_column(predictions)
    if output.probabilities is not None:
        for index, label in enumerate(_class_labels(predictor, output.probabilities.shape[1])):
            columns[f"probability_{label}"] = arrow_column(output.probabilities[:, index])
    return pa.table(columns)


def _class_labels(predictor: Predictor, width: int) -> list[object]:
    classes = predictor.signature.output.classes
    return list(classes) if classes else list(range(width))


def _empty_result(predictor: Predictor, id_column: str | None, id_type: Any) -> pa.Schema:
    """The columns a run writes, for a run that scores no row (a header-only file)."""
    output = predictor.signature.output
    fields: list[pa.Field] = []
    if id_column is not None:
        fields.append(pa.field(id_column, id_type or pa.string()))
    classes = output.classes
    label_type = pa.array(list(classes)).type if classes else pa.float64()
    if output.width > 1 and not classes:
        fields += [pa.field(f"prediction_{i}", pa.float64()) for i in range(output.width)]
    else:
        fields.append(pa.field("prediction", label_type))
    if output.has_proba:
        labels = _class_labels(predictor, output.width)
        fields += [pa.field(f"probability_{label}", pa.float64()) for label in labels]
    return pa.schema(fields)
