"""Rows per request are counted from the parsed body, before any row is decoded."""

import pytest

from modelyard.serving import v1, v2


@pytest.mark.parametrize(
    ("payload", "rows"),
    [
        ({"instances": [{}, {}, {}]}, 3),
        ({"inputs": {"a": [1, 2], "b": [1, 2, 3, 4]}}, 4),
        ({"inputs": {"a": "not a list"}}, 0),
        ({"instances": "nope"}, 0),
        ([1, 2, 3], 0),
    ],
)
def test_v1_counts_records_or_the_longest_column(payload: object, rows: int) -> None:
    assert v1.count_rows(payload) == rows


@pytest.mark.parametrize(
    ("payload", "rows"),
    [
        ({"inputs": [{"name": "x", "shape": [3000, 30], "data": []}]}, 3000),
        ({"inputs": [{"shape": [5]}, {"shape": [7, 1]}]}, 7),
        ({"inputs": [{"shape": []}, {"shape": ["9"]}, "x", {"shape": [True]}]}, 0),
        ({"inputs": {}}, 0),
        (None, 0),
    ],
)
def test_v2_counts_the_first_dimension_tensors_declare(payload: object, rows: int) -> None:
    assert v2.count_rows(payload) == rows
