"""One recorder group's requests (one endpoint × version × bucket) stacked into arrays
once per flush, for every count that reads them: the window's sketches, the nanny model's
losses and the segments' sub-windows."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter, is_

import numpy as np

from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import Columns

log = logging.getLogger(__name__)

_columns = attrgetter("columns")
_rows = attrgetter("rows")
_numbers = attrgetter("numbers")
_latency = attrgetter("latency_ms")
_predictions = attrgetter("output.predictions")
_probabilities = attrgetter("output.probabilities")


@dataclass(frozen=True)
class Stacked:
    columns: Columns
    predictions: np.ndarray | None  # None: answers that do not stack (mixed shapes)
    probabilities: np.ndarray | None  # None unless every request has them and they stack
    latencies: np.ndarray  # one per request (ms)
    request_of_row: np.ndarray  # each row's request, an index into ``latencies``


def stack(events: Sequence[PredictionEvent]) -> Stacked:
    """The group's rows; outputs that do not stack are None (logged), the rest counts.
    Per-request values are gathered with ``map`` (C), not Python loops: a flush of
    one-row requests stacks tens of thousands of them."""
    parts = list(map(_columns, events))
    columns = _by_column(parts)
    predictions = probabilities = None
    try:
        predictions = np.concatenate(list(map(_predictions, events)))
    except Exception:  # answers of mixed shapes: traffic and inputs still count
        log.exception("could not stack the outputs of %s", events[0].version)
    scores = list(map(_probabilities, events))
    if not any(map(is_, scores, repeat(None))):
        try:
            probabilities = np.concatenate(scores)
        except Exception:  # odd shapes: the estimate skips them, the rest still counts
            log.exception("could not stack the probabilities of %s", events[0].version)
    count = len(events)
    return Stacked(
        columns,
        predictions,
        probabilities,
        np.fromiter(map(_latency, events), dtype=float, count=count),
        np.repeat(np.arange(count), np.fromiter(map(_rows, parts), dtype=np.intp, count=count)),
    )


def _by_column(parts: list[Columns]) -> Columns:
    """The parts' rows as one matrix stored column by column (Fortran order): every count
    reads it a feature at a time (sketches sort a copy of each column), and copying a
    contiguous column is several times cheaper than gathering it across rows."""
    matrices = list(map(_numbers, parts))
    if len(parts) == 1 or any(map(is_, matrices, repeat(None))):
        return Columns.concat(parts)
    rows = sum(map(_rows, parts))
    stacked = np.empty((rows, len(parts[0].names)), order="F")
    return Columns(parts[0].names, rows, numbers=np.concatenate(matrices, out=stacked))
