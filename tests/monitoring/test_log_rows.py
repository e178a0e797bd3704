"""Log rows encoded a group at a time hold the same texts as each value encoded alone
(the stored prediction log must not change with how a flush encodes it)."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pytest

from modelyard.monitoring.log_rows import group_log_rows, row_texts
from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import Columns
from modelyard.runtime.runner import Output
from modelyard.store.grouped_rows import element_text, elements


def _alone(values: np.ndarray) -> list[str]:
    """How a row was encoded on its own: digits for integers, orjson of ``tolist()``."""
    if values.ndim == 1 and values.dtype.kind in "iu":
        return [str(v) for v in values.tolist()]
    option = orjson.OPT_SERIALIZE_NUMPY
    return [orjson.dumps(v, option=option, default=str).decode() for v in values.tolist()]


def _awkward_floats(rows: int, columns: int, dtype: Any, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    info = np.finfo(dtype)
    powers = rng.integers(info.minexp, info.maxexp - 4, size=(rows, columns))
    values = (rng.standard_normal((rows, columns)) * 2.0**powers).astype(dtype)
    extremes = [0.0, -0.0, 1.0, 0.1, 1 / 3, float(info.max), float(info.tiny), 1000.5, 0.007]
    flat = values.reshape(-1)
    flat[: len(extremes)] = np.array(extremes, dtype=float).astype(dtype)
    return values


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float_scores_and_predictions_are_byte_identical(dtype: Any, seed: int) -> None:
    matrix = _awkward_floats(500, 3, dtype, seed)
    assert row_texts(matrix) == _alone(matrix)
    column = matrix[:, 1]  # a strided view, as a column of a batch is
    assert row_texts(column) == _alone(column)


def test_non_finite_floats_are_written_as_orjson_writes_them() -> None:
    matrix = np.array([[np.nan, np.inf], [-np.inf, 0.5]])
    assert row_texts(matrix) == _alone(matrix) == ["[null,null]", "[null,0.5]"]


@pytest.mark.parametrize(
    "values",
    [
        np.array([0, 1, -7, 2**62], dtype=np.int64),
        np.array([3, 250], dtype=np.uint8),
        np.array([2**64 - 1, 0], dtype=np.uint64),
        np.array([True, False]),
        np.array([[1, 2], [3, -4]], dtype=np.int32),
        np.array([[True], [False]]),
        np.array([5, -6, 2**40], dtype=">i8"),  # big-endian: orjson refuses them as they are
        np.array([[1, 2]], dtype=">u4"),
        np.array([0.25, -1e300], dtype=">f8"),
        np.zeros((2, 0)),
        np.array(["yes", "no"]),
        np.array(["a", 1.5, None], dtype=object),
        np.arange(8.0).reshape(2, 2, 2),
    ],
)
def test_other_outputs_are_byte_identical(values: np.ndarray) -> None:
    assert row_texts(values) == _alone(values)


def test_no_rows_no_texts() -> None:
    assert row_texts(np.zeros((0, 2))) == []


def _event(rows: int, at: float, probabilities: bool = True) -> PredictionEvent:
    columns = Columns(("x",), rows, numbers=np.arange(rows, dtype=float).reshape(rows, 1))
    scores = np.tile([0.25, 0.75], (rows, 1)).astype(np.float32) if probabilities else None
    output = Output(np.arange(rows) % 2, scores)
    ids = [f"{at}-{i}" for i in range(rows)]
    return PredictionEvent("api", "m@1", columns, output, ids, 1.5 * rows, at, 0.0, f"k{rows}")


def test_a_request_of_several_rows_is_one_log_row_of_json_arrays() -> None:
    events = [_event(1, 1000.25), _event(3, 1000.5), _event(2, 1001.0)]
    segments = [f'{{"s":"{name}"}}' for name in "abcdef"]
    rows = group_log_rows(events, random.Random(0), segments)
    assert [r[0] for r in rows] == ["1000.25-0", "1000.5", "1001.0"]
    assert [r[10] for r in rows] == [None, 3, 2]
    assert {(r[1], r[2]) for r in rows} == {("api", "m@1")}
    assert [r[3] for r in rows] == [
        datetime.fromtimestamp(t, UTC) for t in (1000.25, 1000.5, 1001.0)
    ]
    assert [r[4] for r in rows] == [1.5, 4.5, 3.0]
    assert [r[5] for r in rows] == ["0", "[0,1,0]", "[0,1]"]
    assert [r[7] for r in rows] == ["k1", "k3", "k2"]
    assert rows[1][9] == '[{"s":"b"},{"s":"c"},{"s":"d"}]'
    # each row's texts read back exactly as that row alone is logged
    alone = group_log_rows([_event(3, 1000.5)], random.Random(0), segments[1:4])
    for column, expected in ((5, ["0", "1", "0"]), (6, ["[0.25,0.75]"] * 3), (9, segments[1:4])):
        values = elements(alone[0][column])
        assert [element_text(values, i) for i in range(3)] == expected


def test_group_rows_without_scores_when_a_request_has_none() -> None:
    rows = group_log_rows([_event(1, 5.0), _event(2, 6.0, probabilities=False)], random.Random(0))
    assert [r[6] for r in rows] == [None, None]
    assert [r[10] for r in rows] == [None, 2]


def test_rows_whose_ids_are_not_a_requests_stay_one_row_each() -> None:
    shadow = _event(2, 7.0)
    shadow = dataclasses.replace(shadow, prediction_ids=["7.0-0~ab12cd34", "7.0-1~ab12cd34"])
    odd = dataclasses.replace(_event(2, 8.0), prediction_ids=["8.0-1", "8.0-0"])
    rows = group_log_rows([shadow, odd], random.Random(0))
    assert [r[0] for r in rows] == ["7.0-0~ab12cd34", "7.0-1~ab12cd34", "8.0-1", "8.0-0"]
    assert [r[10] for r in rows] == [None] * 4
    assert [r[5] for r in rows] == ["0", "1", "0", "1"]


def test_requests_sharing_a_model_call_log_their_own_rows_and_inputs() -> None:
    call = _event(4, 9.0)  # one model call of four rows, answered to two requests
    first = dataclasses.replace(call, prediction_ids=["a-0"], first=1, log_inputs=1.0)
    second = dataclasses.replace(call, prediction_ids=["b-0", "b-1"], first=2, log_inputs=1.0)
    rows = group_log_rows([first, second], random.Random(0))  # answers not stacked before
    assert [r[0] for r in rows] == ["a-0", "b"]
    assert [r[5] for r in rows] == ["1", "[0,1]"]
    assert rows[0][8] == '{"x":1.0}'
    assert elements(rows[1][8]) is not None
    assert [element_text(elements(rows[1][8]), i) for i in range(2)] == ['{"x":2.0}', '{"x":3.0}']
