"""One recorder group's requests (one endpoint × version × bucket) stacked into arrays
once per flush, for every count that reads them: the window's sketches, the nanny model's
losses and the segments' sub-windows."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import is_

import numpy as np

from modelyard.runtime.events import (
    PredictionEvent,
    columns_of,
    latency_of,
    predictions_of,
    probabilities_of,
)
from modelyard.runtime.inputs import Columns, rows_of

log = logging.getLogger(__name__)


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
    parts = list(map(columns_of, events))
    columns = Columns.concat(parts, by_column=True)
    predictions = probabilities = None
    try:
        predictions = np.concatenate(list(map(predictions_of, events)))
    except Exception:  # answers of mixed shapes: traffic and inputs still count
        log.exception("could not stack the outputs of %s", events[0].version)
    scores = list(map(probabilities_of, events))
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
        np.fromiter(map(latency_of, events), dtype=float, count=count),
        np.repeat(np.arange(count), np.fromiter(map(rows_of, parts), dtype=np.intp, count=count)),
    )
