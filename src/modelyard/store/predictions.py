"""The prediction log and the feedback joined to it later.

Rows arrive in batches from servers (one insert per flush, never per request). Feedback
is keyed by prediction id: a repeat with the same value changes nothing, a different
value is a correction and replaces the earlier one; ids the log does not know for that
endpoint are reported back one by one. Shadow answers (version ``churn@5~shadow``) are
logged too but never take feedback: no caller got them, so an id of one is unknown.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from modelyard.domain.endpoints import SHADOW_MARK
from modelyard.domain.feedback import same_label
from modelyard.errors import Conflict
from modelyard.store.db import Database
from modelyard.store.grouped_rows import element_text, elements, row_ids, split_id
from modelyard.store.log_times import as_datetime, sqlite_times, stored_times_of
from modelyard.store.schema import FeedbackRow, PredictionRow

CHUNK = 500  # ids per IN (…) clause
T = TypeVar("T")
LOG_COLUMNS = (
    "id",
    "endpoint",
    "version",
    "created_at",
    "latency_ms",
    "prediction",
    "scores",
    "routing_key",
    "inputs",
    "segments",
    "rows",
)
ROWS_PER_INSERT = 400  # 4,400 parameters: under SQLite's and PostgreSQL's limits
# id, endpoint, version, created_at (aware), latency_ms, prediction, scores, routing key,
# inputs, segments (JSON text: segmenting feature → the row's segment), rows (None: one
# prediction; n: a request's n predictions, the texts as JSON arrays: store/grouped_rows.py)
LogRow = tuple[
    str, str, str, datetime, float, str, str | None, str | None, str | None, str | None, int | None
]
PRUNE_BATCH = 5000  # rows deleted per transaction
CLOCK_SKEW = timedelta(minutes=5)  # between the replica that predicted and the one labelling


class LogColumns(Sequence[LogRow]):
    """Log rows held as one list per column (LOG_COLUMNS order): what a flush builds and
    :meth:`PredictionLog.append` binds, without a tuple per row made by the one and taken
    apart by the other (a fifth of a flush of 100-row requests). It is still a sequence
    of rows for everything that reads rows (retry bounds, tests).

    A flush gives times as seconds since the epoch (``time.time()``'s numbers, as events
    carry them): they become texts or datetimes only at the INSERT, a whole column at a
    time, and a row read back has its aware UTC datetime. Other writers give datetimes.
    """

    __slots__ = ("columns",)

    def __init__(self, columns: Sequence[list[Any]] | None = None) -> None:
        self.columns: list[list[Any]] = (
            list(columns) if columns is not None else [[] for _ in LOG_COLUMNS]
        )  # the lists themselves, not copies: the caller hands them over
        if len(self.columns) != len(LOG_COLUMNS) or len({len(c) for c in self.columns}) > 1:
            raise ValueError("log columns must be one list per column, all of one length")

    def __len__(self) -> int:
        return len(self.columns[0])

    @overload
    def __getitem__(self, index: int) -> LogRow: ...

    @overload
    def __getitem__(self, index: slice) -> LogColumns: ...

    def __getitem__(self, index: int | slice) -> LogRow | LogColumns:
        if isinstance(index, slice):
            return LogColumns([c[index] for c in self.columns])
        values = [c[index] for c in self.columns]
        values[_CREATED] = as_datetime(values[_CREATED])
        row: LogRow = tuple(values)
        return row

    def __iter__(self) -> Iterator[LogRow]:
        columns: list[Iterable[Any]] = list(self.columns)
        columns[_CREATED] = map(as_datetime, self.columns[_CREATED])  # lazily: rows are few
        return zip(*columns, strict=True)

    def extend(self, rows: Iterable[LogRow]) -> None:
        """Add ``rows`` at the end (another LogColumns: column by column)."""
        if isinstance(rows, LogColumns):
            for mine, theirs in zip(self.columns, rows.columns, strict=True):
                mine.extend(theirs)
            return
        given = list(rows)
        if not given:
            return
        for column, values in zip(self.columns, zip(*given, strict=True), strict=True):
            column.extend(values)


@dataclass
class FeedbackResult:
    accepted: int = 0  # new labels
    updated: int = 0  # corrections of an earlier label
    duplicates: int = 0  # the same label again
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (item index, id)


@dataclass(frozen=True)
class LabeledPrediction:
    version: str
    created_at: datetime
    received_at: datetime
    prediction: str  # JSON text
    scores: str | None
    actual: str  # JSON text
    segments: str | None = None  # JSON text, when the endpoint is monitored by segment


class PredictionLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, rows: Sequence[LogRow | Mapping[str, Any]]) -> None:
        """Insert prediction rows (tuples in LOG_COLUMNS order, or dicts) in one transaction.

        This is the monitor's hottest write (every served row), so it goes to the driver
        directly as multi-row INSERTs of ROWS_PER_INSERT rows: the ORM's per-value
        processing cost ~20 µs a row, and executemany gives up and takes back the
        interpreter lock for every row, which the busy event loop then has to hand over
        thousands of times a second. Ids already stored are skipped: a retried write whose
        first attempt committed must not fail (and block every later flush) on the key.
        """
        if not rows:
            return
        if isinstance(rows, LogColumns):
            columns: Sequence[Sequence[Any]] = rows.columns
        else:
            tuples = [
                r if isinstance(r, tuple) else tuple(r.get(c) for c in LOG_COLUMNS) for r in rows
            ]
            columns = list(zip(*tuples, strict=True))  # per column, interleaved in C below
        count = len(rows)

        def work(session: Session) -> None:
            connection = session.connection()
            sqlite = connection.dialect.name == "sqlite"
            width = len(LOG_COLUMNS)
            stored_times = sqlite_times if sqlite else stored_times_of
            # One INSERT's parameters at a time: each step holds the interpreter lock for
            # a few hundred rows, never for the whole flush (the event loop waits on it).
            for start in range(0, count, ROWS_PER_INSERT):
                stop = min(start + ROWS_PER_INSERT, count)
                params: list[Any] = [None] * ((stop - start) * width)
                for index, values in enumerate(columns):
                    params[index::width] = values[start:stop]
                params[3::width] = stored_times(columns[3][start:stop])
                connection.exec_driver_sql(_insert_sql(sqlite, stop - start), tuple(params))

        self.db.write(work)

    def add_feedback(
        self, endpoint: str, items: Sequence[tuple[str, str]], now: datetime
    ) -> FeedbackResult:
        """``items`` are (prediction id, actual as JSON text) in the caller's order."""

        def work(session: Session) -> FeedbackResult:
            result = FeedbackResult()
            ids = list({pid for pid, _ in items})
            existing: dict[str, FeedbackRow] = {}
            logged: dict[str, int | None] = {}  # id → rows, of the rows these ids may be in
            for chunk in _chunks(_with_bases(ids)):
                found = session.execute(
                    select(PredictionRow.id, PredictionRow.rows).where(
                        PredictionRow.endpoint == endpoint,
                        PredictionRow.id.in_(chunk),
                        ~PredictionRow.version.endswith(SHADOW_MARK, autoescape=True),
                    )
                )
                logged.update((pid, rows) for pid, rows in found)
            known = {pid for pid in ids if _place(pid, logged) is not None}
            for chunk in _chunks(ids):
                for label in session.scalars(
                    select(FeedbackRow).where(FeedbackRow.prediction_id.in_(chunk))
                ):
                    existing[label.prediction_id] = label
            for index, (pid, actual) in enumerate(items):
                if pid not in known:
                    result.unknown.append((index, pid))
                    continue
                row = existing.get(pid)
                if row is None:
                    existing[pid] = FeedbackRow(
                        prediction_id=pid, endpoint=endpoint, actual=actual, received_at=now
                    )
                    session.add(existing[pid])
                    result.accepted += 1
                elif same_label(row.actual, actual):
                    result.duplicates += 1
                else:
                    row.actual, row.received_at = actual, now
                    result.updated += 1
            return result

        try:
            return self.db.write(work)
        except Conflict:
            # Another writer labelled some of these ids between our read and our insert;
            # once more sees its rows, so repeats count as duplicates, not a failed batch.
            return self.db.write(work)

    def labeled(
        self, endpoint: str, since: datetime, until: datetime, limit: int
    ) -> list[LabeledPrediction]:
        """Predictions made in [since, until) that have feedback, newest first; at most the
        ``limit`` most recently received labels are read.

        Two steps on purpose: labels by the feedback index (labels come after their
        predictions, so only those received since the period began can match), then their
        predictions by primary key. A join let SQLite walk every prediction of the period
        instead — hundreds of thousands of rows on each gauge refresh of a busy server.
        """

        def work(session: Session) -> list[LabeledPrediction]:
            labels = session.execute(
                select(FeedbackRow.prediction_id, FeedbackRow.received_at, FeedbackRow.actual)
                .where(
                    FeedbackRow.endpoint == endpoint,
                    FeedbackRow.received_at >= since - CLOCK_SKEW,
                )
                .order_by(FeedbackRow.received_at.desc())
                .limit(limit)
            ).all()
            by_id = {pid: (received, actual) for pid, received, actual in labels}
            rows: dict[str, Any] = {}
            for chunk in _chunks(_with_bases(list(by_id))):
                for row in session.execute(
                    select(
                        PredictionRow.id,
                        PredictionRow.version,
                        PredictionRow.created_at,
                        PredictionRow.prediction,
                        PredictionRow.scores,
                        PredictionRow.segments,
                        PredictionRow.rows,
                    ).where(
                        PredictionRow.id.in_(chunk),
                        PredictionRow.created_at >= since,
                        PredictionRow.created_at < until,
                    )
                ):
                    rows[row.id] = row
            counts = {key: row.rows for key, row in rows.items()}
            parsed = _Parsed()
            found: list[LabeledPrediction] = []
            for pid, (received, actual) in by_id.items():
                place = _place(pid, counts)
                if place is None:
                    continue
                key, index = place
                row = rows[key]
                prediction, scores, segments = row.prediction, row.scores, row.segments
                if index is not None:
                    prediction = parsed.text(key, "prediction", prediction, index) or "null"
                    scores = parsed.text(key, "scores", scores, index)
                    segments = parsed.text(key, "segments", segments, index)
                found.append(
                    LabeledPrediction(
                        row.version, row.created_at, received, prediction, scores, actual, segments
                    )
                )
            found.sort(key=lambda row: row.created_at, reverse=True)
            return found

        return self.db.read(work)

    def counts(self, endpoint: str, since: datetime, until: datetime) -> dict[str, int]:
        """Logged predictions per version in [since, until)."""

        def work(session: Session) -> dict[str, int]:
            query = (
                select(PredictionRow.version, func.sum(func.coalesce(PredictionRow.rows, 1)))
                .where(
                    PredictionRow.endpoint == endpoint,
                    PredictionRow.created_at >= since,
                    PredictionRow.created_at < until,
                )
                .group_by(PredictionRow.version)
            )
            return {version: int(n) for version, n in session.execute(query)}

        return self.db.read(work)

    def get(self, prediction_id: str) -> dict[str, Any] | None:
        def work(session: Session) -> dict[str, Any] | None:
            row = session.get(PredictionRow, prediction_id)
            index = None
            if row is None or row.rows is not None:  # not a row's id: a request's row's?
                split = split_id(prediction_id)
                row = session.get(PredictionRow, split[0]) if split is not None else None
                if row is None or split is None or row.rows is None or split[1] >= row.rows:
                    return None
                index = split[1]
            label = session.get(FeedbackRow, prediction_id)
            texts = {name: getattr(row, name) for name in ("prediction", "scores", "inputs")}
            if index is not None:
                texts = {name: element_text(elements(t), index) for name, t in texts.items()}
                texts["prediction"] = texts["prediction"] or "null"
            return {
                "id": prediction_id,
                "endpoint": row.endpoint,
                "version": row.version,
                "created_at": row.created_at,
                "latency_ms": row.latency_ms,
                **texts,
                "routing_key": row.routing_key,
                "actual": label.actual if label else None,
            }

        return self.db.read(work)

    def prune(self, cutoff: datetime, dry_run: bool = False) -> tuple[int, int]:
        """Delete predictions made before ``cutoff`` and their feedback, PRUNE_BATCH log rows
        per transaction so writers (servers flushing) never wait long for the lock; the
        counts are of predictions (a request's row counts its rows) and labels. A batch
        takes at most PRUNE_BATCH predictions, so a request's labels are found by their
        ids (``{id}-0`` …) in a bounded number of key lookups."""
        made_before = PredictionRow.created_at < cutoff

        def count(session: Session) -> tuple[int, int]:
            predictions = session.scalar(
                select(func.sum(func.coalesce(PredictionRow.rows, 1))).where(made_before)
            )
            singles = select(PredictionRow.id).where(made_before, PredictionRow.rows.is_(None))
            labels = session.scalar(
                select(func.count()).where(FeedbackRow.prediction_id.in_(singles.scalar_subquery()))
            )
            requests = session.execute(
                select(PredictionRow.id, PredictionRow.rows).where(
                    made_before, PredictionRow.rows.is_not(None)
                )
            ).all()
            labels = (labels or 0) + sum(
                session.scalar(select(func.count()).where(FeedbackRow.prediction_id.in_(chunk)))
                or 0
                for chunk in _chunks(_request_ids([(pid, n or 1) for pid, n in requests]))
            )
            return int(predictions or 0), int(labels)

        if dry_run:
            return self.db.read(count)

        def batch(session: Session) -> tuple[bool, int, int]:
            """(whether this was the last batch, predictions deleted, labels deleted)"""
            found = session.execute(
                select(PredictionRow.id, PredictionRow.rows).where(made_before).limit(PRUNE_BATCH)
            ).all()
            taken: list[tuple[str, int | None]] = []
            total = 0
            for pid, rows in found:  # at most PRUNE_BATCH predictions (at least one row)
                if taken and total + (rows or 1) > PRUNE_BATCH:
                    break
                taken.append((pid, rows))
                total += rows or 1
            labels = 0
            singles = [pid for pid, rows in taken if rows is None]
            requests = [(pid, int(rows)) for pid, rows in taken if rows is not None]
            for chunk in [*_chunks(singles), *_chunks(_request_ids(requests))]:
                done = session.execute(
                    delete(FeedbackRow).where(FeedbackRow.prediction_id.in_(chunk))
                )
                labels += int(done.rowcount)  # type: ignore[attr-defined]
            for chunk in _chunks([pid for pid, _ in taken]):
                session.execute(delete(PredictionRow).where(PredictionRow.id.in_(chunk)))
            last = len(taken) == len(found) < PRUNE_BATCH
            return last, total, labels

        predictions = labels = 0
        while True:
            last, done, labelled = self.db.write(batch)
            predictions, labels = predictions + done, labels + labelled
            if last:
                return predictions, labels


@functools.lru_cache(maxsize=16)
def _insert_sql(sqlite: bool, rows: int) -> str:
    mark = "?" if sqlite else "%s"
    one = "(" + ", ".join(mark for _ in LOG_COLUMNS) + ")"
    values = ", ".join(one for _ in range(rows))
    names = ", ".join(LOG_COLUMNS)
    if sqlite:
        return f"INSERT OR IGNORE INTO predictions ({names}) VALUES {values}"
    return f"INSERT INTO predictions ({names}) VALUES {values} ON CONFLICT DO NOTHING"


_CREATED = LOG_COLUMNS.index("created_at")


def _chunks(values: list[T], size: int = CHUNK) -> Iterable[list[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _with_bases(ids: list[str]) -> list[str]:
    """``ids`` and the request ids (bases) they may be rows of."""
    bases = {split[0] for split in map(split_id, ids) if split is not None}
    return list(dict.fromkeys([*ids, *sorted(bases)]))


def _place(prediction_id: str, logged: Mapping[str, int | None]) -> tuple[str, int | None] | None:
    """Where ``prediction_id`` is logged, given the logged rows' ``rows`` by id: (its row's
    id, None) for a row of its own, (its request's row id, its index) for a request's row,
    None when neither is there."""
    if prediction_id in logged and logged[prediction_id] is None:
        return prediction_id, None
    split = split_id(prediction_id)
    if split is None:
        return None
    base, index = split
    count = logged.get(base)
    if count is None or index >= count:
        return None
    return base, index


def _request_ids(requests: Sequence[tuple[str, int]]) -> list[str]:
    """Every prediction id of these requests' rows ((id, rows) of each)."""
    return [pid for base, rows in requests for pid in row_ids(base, rows)]


class _Parsed:
    """Grouped rows' JSON arrays, parsed once per row and column for many labels."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], list[object] | None] = {}

    def text(self, key: str, column: str, text: str | None, index: int) -> str | None:
        if (key, column) not in self._values:
            self._values[(key, column)] = elements(text)
        return element_text(self._values[(key, column)], index)
