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


def _call(rows: int) -> tuple[Columns, Output]:
    """A model call's rows (``a`` counts from 0, ``b`` from 100) and answers."""
    values = np.column_stack([np.arange(rows, dtype=float), np.arange(100, 100 + rows)])
    scores = np.column_stack([np.linspace(0, 1, rows), np.linspace(1, 0, rows)])
    return Columns(("a", "b"), rows, numbers=values), Output(np.arange(rows) % 2, scores)


def _share(call: tuple[Columns, Output], first: int, rows: int, latency: float) -> PredictionEvent:
    ids = [f"r{first}-{i}" for i in range(rows)]
    columns, output = call
    return PredictionEvent("api", "m@1", columns, output, ids, latency, 0.0, 0.0, first=first)


def test_requests_sharing_model_calls_stack_as_their_own_rows() -> None:
    one, two = _call(4), _call(3)
    events = [
        _share(one, 0, 1, 1.0),
        _share(one, 1, 2, 2.0),
        _share(one, 3, 1, 3.0),  # the whole first call, in order
        _share(two, 1, 2, 4.0),  # part of the second: its first request went elsewhere
    ]
    batch = stack(events)
    assert batch.columns.rows == 6
    assert batch.columns.column("a").tolist() == [0.0, 1.0, 2.0, 3.0, 1.0, 2.0]
    assert batch.predictions is not None
    assert batch.predictions.tolist() == [0, 1, 0, 1, 1, 0]
    assert batch.probabilities is not None
    assert batch.probabilities[4:].tolist() == two[1].probabilities[1:].tolist()
    assert batch.latencies.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert batch.request_of_row.tolist() == [0, 1, 1, 2, 3, 3]


def test_a_request_missing_from_the_middle_of_a_call_leaves_a_gap() -> None:
    call = _call(5)
    batch = stack([_share(call, 0, 2, 1.0), _share(call, 3, 2, 2.0)])  # rows 2 timed out
    assert batch.columns.column("b").tolist() == [100.0, 101.0, 103.0, 104.0]
    assert batch.predictions is not None
    assert batch.predictions.tolist() == [0, 1, 1, 0]
    assert batch.request_of_row.tolist() == [0, 0, 1, 1]


def test_shared_and_own_arrays_stack_together() -> None:
    call = _call(3)
    own = PredictionEvent("api", "m@1", *_call(2), ["o-0", "o-1"], 9.0, 0.0, 0.0)
    batch = stack([_share(call, 2, 1, 1.0), own, _share(call, 0, 1, 2.0)])
    assert batch.columns.column("a").tolist() == [2.0, 0.0, 1.0, 0.0]
    assert batch.request_of_row.tolist() == [0, 1, 1, 2]


def test_a_request_sees_its_own_rows_and_answers() -> None:
    call = _call(4)
    event = _share(call, 1, 2, 1.0)
    assert event.rows == 2
    assert event.own_columns().column("a").tolist() == [1.0, 2.0]
    assert event.own_output().predictions.tolist() == [1, 0]
    assert event.own_output().probabilities is not None
    whole = PredictionEvent("api", "m@1", *call, ["w"] * 4, 1.0, 0.0, 0.0)
    assert whole.own_columns() is call[0]
    assert whole.own_output() is call[1]


def test_a_call_s_requests_out_of_order_or_held_as_arrays_stack_as_their_own_rows() -> None:
    columns, output = _call(5)
    texts = Columns(("a", "t"), 5, arrays={"a": columns.column("a"), "t": np.array(list("vwxyz"))})
    events = [_share((texts, output), 3, 2, 1.0), _share((texts, output), 0, 2, 2.0)]
    batch = stack(events)
    assert batch.columns.column("t").tolist() == ["y", "z", "v", "w"]
    assert batch.columns.column("a").tolist() == [3.0, 4.0, 0.0, 1.0]
    assert batch.predictions is not None
    assert batch.predictions.tolist() == [1, 0, 0, 1]
    assert batch.request_of_row.tolist() == [0, 0, 1, 1]
