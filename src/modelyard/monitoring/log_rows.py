"""Prediction log rows: the answers of many requests encoded at once as rows for the
prediction log (outputs and scores as JSON text, a sample of raw inputs when asked)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from modelyard.runtime.events import PredictionEvent
from modelyard.store.predictions import LogRow

ROW_OVERHEAD = 256  # bytes a log row takes in memory beyond its texts (tuple, time, float)


def group_log_rows(
    events: list[PredictionEvent],
    rng: random.Random,
    segments: list[str | None] | None = None,
) -> list[LogRow]:
    """Log rows of many requests of one endpoint × version at once: concatenated outputs,
    one ``tolist``, and tuples built by ``zip`` (per-request work was most of a flush's
    cost with one-row requests)."""
    first = events[0]
    sizes = [len(e.prediction_ids) for e in events]
    total = sum(sizes)
    single = total == len(events)

    def per_row(values: list[Any]) -> list[Any]:
        return (
            values if single else [v for v, n in zip(values, sizes, strict=True) for _ in range(n)]
        )

    ids = [pid for e in events for pid in e.prediction_ids]
    created = per_row([datetime.fromtimestamp(e.at, UTC) for e in events])
    latency = per_row([e.latency_ms for e in events])
    keys = per_row([e.routing_key for e in events])
    predictions = np.concatenate([e.output.predictions for e in events])
    if predictions.ndim == 1 and predictions.dtype.kind in "iu":
        texts = [str(v) for v in predictions.tolist()]
    else:
        texts = [_json(v) for v in predictions.tolist()]
    scores: list[str | None]
    if all(e.output.probabilities is not None for e in events):
        matrix = np.concatenate([e.output.probabilities for e in events])
        scores = [_json(row) for row in matrix.tolist()]
    else:
        scores = [None] * total
    inputs: list[str | None] = [None] * total
    if any(e.log_inputs > 0 for e in events):
        offset = 0
        for event, size in zip(events, sizes, strict=True):
            for i, text in _sampled_rows(event, rng).items():
                inputs[offset + i] = text
            offset += size
    if segments is None or len(segments) != total:
        segments = [None] * total
    if len(texts) != total or len(scores) != total:
        raise ValueError("outputs and prediction ids do not line up")
    return list(
        zip(
            ids,
            [first.endpoint] * total,
            [first.version] * total,
            created,
            latency,
            texts,
            scores,
            keys,
            inputs,
            segments,
            strict=True,
        )
    )


def row_bytes(row: LogRow) -> int:
    return ROW_OVERHEAD + sum(len(value) for value in row if isinstance(value, str))


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY, default=str).decode()


def _sampled_rows(event: PredictionEvent, rng: random.Random) -> Mapping[int, str]:
    """Raw inputs of a ``log_inputs`` share of rows, as JSON text (none by default)."""
    if event.log_inputs <= 0:
        return {}
    chosen = [i for i in range(event.columns.rows) if rng.random() < event.log_inputs]
    if not chosen:
        return {}
    columns = {name: event.columns.column(name) for name in event.columns.names}
    return {i: _json({name: _plain(values[i]) for name, values in columns.items()}) for i in chosen}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
