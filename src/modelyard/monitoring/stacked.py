"""One recorder group's requests (one endpoint × version × bucket) stacked into arrays
once per flush, for every count that reads them: the window's sketches, the nanny model's
losses and the segments' sub-windows."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise, repeat
from operator import is_

import numpy as np

from modelyard.runtime.events import (
    PredictionEvent,
    columns_of,
    first_of,
    ids_of,
    latency_of,
    output_of,
)
from modelyard.runtime.inputs import Columns, rows_of
from modelyard.runtime.runner import Output

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
    Requests answered by one model call share its arrays (runtime/events.py), so a run of
    them costs one slice of the call's rows, and a flush of one-row requests joins a few
    hundred calls' arrays, not tens of thousands of rows one by one. Per-request values
    are gathered with ``map`` (C), not Python loops."""
    count = len(events)
    sizes = np.fromiter(map(len, map(ids_of, events)), dtype=np.intp, count=count)
    firsts = np.fromiter(map(first_of, events), dtype=np.intp, count=count)
    calls = list(map(columns_of, events))
    outputs = list(map(output_of, events))
    # a request with arrays of its own (answered in slices, a shadow's): taken as it is
    whole = ((firsts == 0) & (sizes == np.fromiter(map(rows_of, calls), np.intp, count))).tolist()
    columns: list[Columns] = []
    predictions: list[np.ndarray] = []
    scores: list[np.ndarray | None] = []
    for start, stop in _runs(calls, outputs):
        call, output = calls[start], outputs[start]
        whole_call = stop - start == 1 and whole[start]
        rows = None if whole_call else _rows(firsts[start:stop], sizes[start:stop], call.rows)
        if rows is None:  # the whole call: its arrays as they are
            columns.append(call)
            predictions.append(output.predictions)
            scores.append(output.probabilities)
            continue
        columns.append(
            call.slice(rows.start, rows.stop) if isinstance(rows, slice) else call.take(rows)
        )
        predictions.append(output.predictions[rows])
        scores.append(None if output.probabilities is None else output.probabilities[rows])
    joined = Columns.concat(columns, by_column=True)
    predicted: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    try:
        predicted = np.concatenate(predictions)
    except Exception:  # answers of mixed shapes: traffic and inputs still count
        log.exception("could not stack the outputs of %s", events[0].version)
    if not any(map(is_, scores, repeat(None))):
        try:
            probabilities = np.concatenate(scores)  # type: ignore[arg-type]
        except Exception:  # odd shapes: the estimate skips them, the rest still counts
            log.exception("could not stack the probabilities of %s", events[0].version)
    return Stacked(
        joined,
        predicted,
        probabilities,
        np.fromiter(map(latency_of, events), dtype=float, count=count),
        np.repeat(np.arange(count), sizes),
    )


def _runs(calls: list[Columns], outputs: list[Output]) -> list[tuple[int, int]]:
    """Runs of consecutive events answered by the same model call (one array compare,
    no Python loop over the events)."""
    count = len(calls)
    same_rows = np.fromiter(map(id, calls), dtype=np.uintp, count=count)
    same_call = np.fromiter(map(id, outputs), dtype=np.uintp, count=count)
    cuts = np.flatnonzero((same_rows[1:] != same_rows[:-1]) | (same_call[1:] != same_call[:-1]))
    bounds = [0, *(cuts + 1).tolist(), count]
    return list(pairwise(bounds))


def _rows(firsts: np.ndarray, sizes: np.ndarray, total: int) -> slice | np.ndarray | None:
    """Where a run's requests sit in their call: None for all of it, a slice when they
    follow each other, else each row's position (a request that timed out leaves a gap)."""
    ends = firsts + sizes
    if len(firsts) == 1 or (firsts[1:] == ends[:-1]).all():
        start, stop = int(firsts[0]), int(ends[-1])
        return None if start == 0 and stop == total else slice(start, stop)
    begins = np.cumsum(sizes) - sizes  # where each request starts in the run's rows
    positions: np.ndarray = np.arange(int(sizes.sum())) + np.repeat(firsts - begins, sizes)
    return positions
