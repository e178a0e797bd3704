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
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from modelyard.batch.files import Writer, open_source
from modelyard.batch.scoring import (
    ON_ERROR,
    BatchReport,
    PartitionScorer,
    check_columns,
)
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.runtime.inputs import from_checked_frame
from modelyard.runtime.predictor import Predictor
from modelyard.runtime.runner import ModelRunner, Output
from modelyard.tabular import table_format

Progress = Callable[[int, int | None], None]  # (rows done, rows in all if known)
IN_FLIGHT = 2  # chunks handed to the model's thread and not written yet


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
    if on_error not in ON_ERROR:
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
    scorer = PartitionScorer(predictor, id_column=id_column, on_error=on_error)
    reader = open_source(source, signature, id_column)
    check_columns(signature, reader.columns, id_column)
    chunks = reader.chunks(signature, chunk_rows, id_column)
    report = BatchReport()
    runner = ModelRunner(predictor, native_threads=model_threads())
    tmp = dest.with_name(f".{dest.name}.partial")
    writer = Writer(tmp, out_format)
    in_flight: deque[_Scoring] = deque()

    def finish(scoring: _Scoring) -> None:
        if scoring.call is not None:
            output = scoring.call.result()
            writer.write(scorer.result(output, scoring.ids))
            report.rows_out += len(output.predictions)
        if progress is not None:
            progress(scoring.rows_done, reader.total)

    try:
        for chunk in chunks:
            start = report.rows_in
            report.rows_in += chunk.rows
            good = scorer.good_rows(chunk.features, start, report)
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
        writer.finish(scorer.empty(reader.id_type))
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
