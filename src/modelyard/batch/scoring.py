"""Scoring one partition, whatever engine holds it: rows in, a result table out.

Every engine calls this: the local engine chunk by chunk (it overlaps the model call with
reading and writing, so it uses the check and the result table separately), the Dask engine
in each task, and the Ray Data ``map_batches`` and Spark ``mapInPandas`` adapters
(``batch/adapters.py``) through :meth:`PartitionScorer.score`. Rows are checked against the
signature exactly as the server checks requests; bad rows stop the run
(``on_error="fail"``) or are skipped and reported (``"skip"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from modelyard.batch.files import arrow_column
from modelyard.domain.signature import Signature
from modelyard.errors import InvalidInput, SchemaMismatch
from modelyard.runtime.inputs import from_checked_frame
from modelyard.runtime.predictor import Predictor
from modelyard.runtime.runner import ModelRunner, Output

MAX_REPORTED = 1000
ON_ERROR = ("fail", "skip")


@dataclass
class BatchReport:
    rows_in: int = 0
    rows_out: int = 0
    skipped: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)  # first MAX_REPORTED


class PartitionScorer:
    """One model's checks and result columns, for frames or Arrow tables of any origin."""

    def __init__(
        self,
        predictor: Predictor,
        *,
        id_column: str | None = None,
        on_error: str = "fail",
        label: str = "",
    ) -> None:
        if on_error not in ON_ERROR:
            raise InvalidInput(f"on_error must be 'fail' or 'skip', got {on_error!r}")
        self.predictor = predictor
        self.id_column = id_column
        self.on_error = on_error
        self.label = label  # "rows-003.parquet: ", before a row number in an error

    def good_rows(self, features: pd.DataFrame, start: int, report: BatchReport) -> np.ndarray:
        """A mask of the rows that fit the signature; with ``on_error="fail"`` a bad row
        raises instead. ``start``: the first row's number in its file, for messages."""
        return _good_rows(self.predictor, features, start, self.on_error, report, self.label)

    def result(self, output: Output, ids: pa.Array | None) -> pa.Table:
        return _result_table(self.predictor, output, ids, self.id_column)

    def empty(self, id_type: pa.DataType | None) -> pa.Schema:
        """The columns a partition with no scored row is written with."""
        return _empty_result(self.predictor, self.id_column, id_type)

    def score_chunk(
        self,
        runner: ModelRunner,
        features: pd.DataFrame,
        ids: pa.Array | None,
        start: int,
        report: BatchReport,
    ) -> pa.Table | None:
        """Check, drop or refuse bad rows, predict on ``runner``'s thread; None when no row
        was good."""
        report.rows_in += len(features)
        good = self.good_rows(features, start, report)
        if not good.all():
            features = features[good]
            ids = ids.filter(pa.array(good)) if ids is not None else None
        if not good.any():
            return None
        columns = from_checked_frame(self.predictor.signature, features)
        output = runner.submit(columns).result()
        report.rows_out += len(output.predictions)
        return self.result(output, ids)

    def score(self, rows: pd.DataFrame | pa.Table, start: int = 0) -> pd.DataFrame:
        """A frame (or Arrow table) in, the result frame out: the shape Ray Data's
        ``map_batches`` and Spark's ``mapInPandas`` call. Runs the model on this thread."""
        arrow = isinstance(rows, pa.Table)
        columns = list(rows.column_names) if arrow else [str(c) for c in rows.columns]
        check_columns(self.predictor.signature, columns, self.id_column)
        names = [n for n in self.predictor.signature.names if n in columns]
        ids: pa.Array | None = None
        if isinstance(rows, pa.Table):
            features = rows.select(names).to_pandas()
            ids = rows.column(self.id_column).combine_chunks() if self.id_column else None
        else:
            features = rows[names].reset_index(drop=True)
            ids = pa.array(rows[self.id_column], from_pandas=True) if self.id_column else None
        runner = ModelRunner(self.predictor)
        try:
            report = BatchReport()
            result = self.score_chunk(runner, features, ids, start, report)
        finally:
            runner.close()
        id_type = ids.type if ids is not None else None
        return (result if result is not None else self.empty(id_type).empty_table()).to_pandas()


def check_columns(signature: Signature, columns: list[str], id_column: str | None) -> None:
    """Columns the run needs and the input lacks, before any row is read."""
    if id_column is not None and id_column not in columns:
        raise SchemaMismatch(f"id column {id_column!r} is not in the input")
    present = [name for name in signature.names if name in columns]
    problems = signature.problems(pd.DataFrame(columns=present))
    if problems:
        first = problems[0]
        raise SchemaMismatch(f"feature {first['feature']!r}: {first['rule']}", problems)


def _good_rows(
    predictor: Predictor,
    features: pd.DataFrame,
    start: int,
    on_error: str,
    report: BatchReport,
    label: str = "",
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
            f"{label}feature {first['feature']!r}{where}: {first['rule']}",
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
