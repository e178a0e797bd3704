"""Prediction log rows: the answers of many requests encoded at once as rows for the
prediction log (outputs and scores as JSON text, a sample of raw inputs when asked); a
request of several rows becomes one log row of JSON arrays (store/grouped_rows.py).

A flush encodes every row the server answered, so the per-row work is kept to C calls:
a group's outputs are encoded by one ``orjson`` call of the whole array and the text
split into rows (the same text per row as encoding each row's ``tolist()`` on its own),
and per-request values are spread over rows with ``itertools``, not Python loops."""

from __future__ import annotations

import random
from collections.abc import Mapping
from itertools import chain, repeat
from operator import attrgetter
from typing import Any

import numpy as np
import orjson

from modelyard.runtime.events import PredictionEvent, ids_of, latency_of
from modelyard.store.grouped_rows import group_base, joined
from modelyard.store.predictions import LogColumns, LogRow

ROW_OVERHEAD = 256  # bytes a log row takes in memory beyond its texts (tuple, time, float)
_SPLIT = "\x00"  # never in orjson's text of numbers (control characters are escaped)

_at = attrgetter("at")
_key = attrgetter("routing_key")
_log_inputs = attrgetter("log_inputs")


def group_log_rows(
    events: list[PredictionEvent],
    rng: random.Random,
    segments: list[str | None] | None = None,
    predictions: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
) -> LogColumns:
    """Log rows of many requests of one endpoint × version at once. ``predictions`` and
    ``probabilities``: the events' outputs already concatenated (the recorder's stack),
    so they are not concatenated twice."""
    first = events[0]
    ids = list(chain.from_iterable(map(ids_of, events)))
    total = len(ids)
    sizes = None if total == len(events) else [len(e.prediction_ids) for e in events]

    def per_row(values: list[Any]) -> list[Any]:
        if sizes is None:
            return values
        return list(chain.from_iterable(map(repeat, values, sizes)))

    created = per_row(list(map(_at, events)))  # seconds: datetimes only at the INSERT
    latency = per_row(list(map(latency_of, events)))
    keys = per_row(list(map(_key, events)))
    # (not stacked: each request's own answers, as events share their model call's)
    if predictions is None:
        predictions = np.concatenate([e.own_output().predictions for e in events])
    texts = row_texts(predictions)
    if probabilities is None and all(e.output.probabilities is not None for e in events):
        probabilities = np.concatenate([e.own_output().probabilities for e in events])
    scores: list[Any] = [None] * total if probabilities is None else row_texts(probabilities)
    inputs: list[str | None] = [None] * total
    if max(map(_log_inputs, events)) > 0:
        offset = 0
        for event in events:
            for i, text in _sampled_rows(event, rng).items():
                inputs[offset + i] = text
            offset += len(event.prediction_ids)
    if segments is None or len(segments) != total:
        segments = [None] * total
    if len(texts) != total or len(scores) != total:
        raise ValueError("outputs and prediction ids do not line up")
    columns = [ids, [first.endpoint] * total, [first.version] * total, created, latency]
    by_row = [*columns, texts, scores, keys, inputs, segments]
    if sizes is None:  # one-row requests only: a row each
        return LogColumns([*by_row, [None] * total])
    return _one_row_per_request(events, by_row)


# Columns of a log row (store/predictions.py's LOG_COLUMNS) a request's rows share, and
# those holding a text per row (joined into a JSON array for a request's row).
_SHARED = (1, 2, 3, 4, 7)  # endpoint, version, created_at, latency_ms, routing_key
_PER_ROW = (5, 6, 8, 9)  # prediction, scores, inputs, segments


def _one_row_per_request(events: list[PredictionEvent], by_row: list[list[Any]]) -> LogColumns:
    """A request of n > 1 rows as one log row: id its base, ``rows`` n, its rows' texts as
    JSON arrays (store/grouped_rows.py); other requests' rows as they are."""
    out: list[list[Any]] = [[] for _ in range(len(by_row) + 1)]
    at = 0
    for event in events:
        n = len(event.prediction_ids)
        base = group_base(event.prediction_ids)
        if base is None:
            for column, values in zip(out, by_row, strict=False):
                column.extend(values[at : at + n])
            out[-1].extend([None] * n)
        else:
            out[0].append(base)
            for index in _SHARED:
                out[index].append(by_row[index][at])
            for index in _PER_ROW:
                out[index].append(joined(by_row[index][at : at + n]))
            out[-1].append(n)
        at += n
    return LogColumns(out)


def row_texts(values: np.ndarray) -> list[str]:
    """Each row of ``values`` as JSON text: integers as their digits, other values as
    ``orjson`` writes the row's ``tolist()``. Numbers go through one ``orjson`` call of
    the whole array, split into rows (floats widened to float64 first: ``tolist`` gives
    Python floats, whose text is the float64's, not the float32's shortest)."""
    kind = values.dtype.kind
    if len(values) == 0:
        return []
    if values.ndim in (1, 2) and kind in "biuf":
        if kind == "f" and values.dtype != np.float64:
            values = values.astype(np.float64)
        elif not values.dtype.isnative:  # orjson refuses (or, before 3.10.1, misreads) them
            values = values.astype(values.dtype.newbyteorder("="))
        try:
            text = orjson.dumps(np.ascontiguousarray(values), option=orjson.OPT_SERIALIZE_NUMPY)
        except orjson.JSONEncodeError:  # anything orjson will not take: row by row, as before
            return [_json(v) for v in values.tolist()]
        inner = text.decode()[1:-1]
        if values.ndim == 1:
            return inner.split(",")
        return inner.replace("],[", "]" + _SPLIT + "[").split(_SPLIT)
    return [_json(v) for v in values.tolist()]


def row_bytes(row: LogRow) -> int:
    return ROW_OVERHEAD + sum(len(value) for value in row if isinstance(value, str))


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY, default=str).decode()


def _sampled_rows(event: PredictionEvent, rng: random.Random) -> Mapping[int, str]:
    """Raw inputs of a ``log_inputs`` share of rows, as JSON text (none by default)."""
    if event.log_inputs <= 0:
        return {}
    chosen = [i for i in range(event.rows) if rng.random() < event.log_inputs]
    if not chosen:
        return {}
    own = event.own_columns()
    columns = {name: own.column(name) for name in own.names}
    return {i: _json({name: _plain(values[i]) for name, values in columns.items()}) for i in chosen}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
