"""One recorder group's requests (one endpoint × version × bucket) stacked into arrays
once per flush, for every count that reads them: the window's sketches, the nanny model's
losses and the segments' sub-windows."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import Columns

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stacked:
    columns: Columns
    predictions: np.ndarray | None  # None: answers that do not stack (mixed shapes)
    probabilities: np.ndarray | None  # None unless every request has them and they stack
    latencies: np.ndarray  # one per request (ms)
    request_of_row: np.ndarray  # each row's request, an index into ``latencies``


def stack(events: Sequence[PredictionEvent]) -> Stacked:
    """The group's rows; outputs that do not stack are None (logged), the rest counts."""
    columns = Columns.concat([e.columns for e in events])
    predictions = probabilities = None
    try:
        predictions = np.concatenate([np.asarray(e.output.predictions) for e in events])
    except Exception:  # answers of mixed shapes: traffic and inputs still count
        log.exception("could not stack the outputs of %s", events[0].version)
    if all(e.output.probabilities is not None for e in events):
        try:
            probabilities = np.concatenate([np.asarray(e.output.probabilities) for e in events])
        except Exception:  # odd shapes: the estimate skips them, the rest still counts
            log.exception("could not stack the probabilities of %s", events[0].version)
    return Stacked(
        columns,
        predictions,
        probabilities,
        np.array([e.latency_ms for e in events], dtype=float),
        np.repeat(np.arange(len(events)), [e.columns.rows for e in events]),
    )
