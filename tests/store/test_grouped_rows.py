"""A request's row: which ids belong to one, and its rows' texts read back exactly."""

import numpy as np
import pytest

from modelyard.monitoring.log_rows import row_texts
from modelyard.store.grouped_rows import (
    element_text,
    elements,
    group_base,
    joined,
    row_ids,
    split_id,
)


@pytest.mark.parametrize(
    ("pid", "split"),
    [
        ("0190ab-0", ("0190ab", 0)),
        ("a-b-c-12", ("a-b-c", 12)),
        ("r1-01", None),  # not canonical: would be a second name for r1-1
        ("r1-00", None),
        ("r1-", None),
        ("-3", None),
        ("r1", None),
        ("r1-0~ab12cd34", None),  # a shadow's answer
        ("r1-١", None),  # a non-ASCII digit
        ("r1-+1", None),
        ("r1-1234567890", None),  # past MAX_INDEX_DIGITS
    ],
)
def test_split_id(pid: str, split: tuple[str, int] | None) -> None:
    assert split_id(pid) == split


def test_group_base_only_for_a_requests_ids_in_order() -> None:
    assert group_base(list(row_ids("b", 3))) == "b"
    assert group_base(["b-0"]) is None  # one row: a row of its own
    assert group_base(["b-1", "b-0"]) is None
    assert group_base(["b-0", "c-1"]) is None
    assert group_base(["b-0~t", "b-1~t"]) is None


@pytest.mark.parametrize(
    "values",
    [
        np.array([0.1, 1e-07, -0.0, 1 / 3, 1e300, 2.5]),
        np.array([0.1, 1 / 3, 16777217], dtype=np.float32),  # widened as the log writes them
        np.array([[0.9, 0.1], [1e-12, 1 - 1e-12]]),
        np.array([0, -7, 2**62], dtype=np.int64),
        np.array(["yes", "naïve", "日本", 'a"b\\c']),
        np.array([True, False]),
        np.array([[np.nan, 0.5], [np.inf, 0.25]]),  # non-finite: null, as on their own
    ],
)
def test_a_rows_text_reads_back_as_its_own_row_holds_it(values: np.ndarray) -> None:
    alone = row_texts(values)
    stored = joined(alone)
    assert [element_text(elements(stored), i) for i in range(len(alone))] == [
        None if text == "null" else text for text in alone
    ]


def test_rows_without_a_text() -> None:
    assert joined([None, None]) is None
    assert joined(['{"a":1}', None]) == '[{"a":1},null]'
    assert element_text(elements('[{"a":1},null]'), 1) is None
    assert element_text(elements(None), 0) is None
    assert element_text(elements("[1]"), 5) is None
    assert element_text(elements("[123456789012345678901234567890]"), 0) == (
        "123456789012345678901234567890"  # past 64 bits: exact, not a float
    )
