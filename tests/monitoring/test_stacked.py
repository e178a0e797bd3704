"""A recorder group's requests stacked once: columns, outputs, latencies per request."""

from __future__ import annotations

import numpy as np

from modelyard.monitoring.stacked import stack
from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import Columns
from modelyard.runtime.runner import Output


def _event(rows: int, predictions: np.ndarray, probabilities: np.ndarray | None) -> PredictionEvent:
    columns = Columns(("x",), rows, arrays={"x": np.arange(rows, dtype=float)})
    ids = [f"p{i}" for i in range(rows)]
    output = Output(predictions, probabilities)
    return PredictionEvent("api", "m@1", columns, output, ids, float(rows), 0.0, 0.0)


def test_rows_are_stacked_with_the_request_each_came_from() -> None:
    batch = stack([_event(2, np.array([0, 1]), None), _event(3, np.array([1, 1, 0]), None)])
    assert batch.columns.rows == 5
    assert batch.predictions is not None
    assert batch.predictions.tolist() == [0, 1, 1, 1, 0]
    assert batch.probabilities is None  # not every request has them
    assert batch.latencies.tolist() == [2.0, 3.0]
    assert batch.request_of_row.tolist() == [0, 0, 1, 1, 1]


def test_outputs_that_do_not_stack_leave_the_rest() -> None:
    flat = _event(2, np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]]))
    nested = _event(1, np.array([[0, 1, 2]]), np.array([[0.1, 0.2, 0.3, 0.4]]))
    batch = stack([flat, nested])
    assert batch.predictions is None
    assert batch.probabilities is None
    assert batch.columns.rows == 3


def test_numeric_rows_are_stacked_column_by_column() -> None:
    def numeric(rows: int, start: float) -> PredictionEvent:
        values = np.arange(start, start + 2 * rows).reshape(rows, 2)
        columns = Columns(("a", "b"), rows, numbers=values)
        output = Output(np.zeros(rows, dtype=int), None)
        return PredictionEvent("api", "m@1", columns, output, ["p"] * rows, 1.0, 0.0, 0.0)

    batch = stack([numeric(1, 0.0), numeric(2, 10.0)])
    assert batch.columns.numbers is not None
    assert batch.columns.numbers.flags.f_contiguous  # each feature's values side by side
    assert batch.columns.column("a").tolist() == [0.0, 10.0, 12.0]
    assert batch.columns.column("b").tolist() == [1.0, 11.0, 13.0]
