"""Ground-truth items as callers send them: each checked alone, problems reported by index."""

from __future__ import annotations

import pytest

from modelyard.domain.feedback import (
    MAX_ACTUAL_TEXT,
    MAX_ID,
    MAX_ITEMS,
    FeedbackItem,
    feedback_items,
)
from modelyard.errors import InvalidInput


def test_one_item_a_list_or_a_feedback_object() -> None:
    item = {"prediction_id": "p1", "actual": 1}
    expected = [FeedbackItem(0, "p1", "1")]
    assert feedback_items(item) == (expected, [])
    assert feedback_items([item]) == (expected, [])
    assert feedback_items({"feedback": [item]}) == (expected, [])


@pytest.mark.parametrize(
    ("actual", "text"),
    [
        (1, "1"),
        (0.5, "0.5"),
        (-(2**63) + 1, str(-(2**63) + 1)),
        ("churned", '"churned"'),
        ("", '""'),
        ("é\u2028", '"é\u2028"'),
        (True, "true"),
        ("x" * MAX_ACTUAL_TEXT, '"' + "x" * MAX_ACTUAL_TEXT + '"'),
    ],
)
def test_labels_are_kept_as_json_text(actual: object, text: str) -> None:
    items, problems = feedback_items({"prediction_id": "p", "actual": actual})
    assert (items[0].actual, problems) == (text, [])


def test_bad_items_are_reported_and_good_ones_kept() -> None:
    payload = [
        {"prediction_id": "a", "actual": 1},
        {"prediction_id": "b", "actual": float("nan")},
        "not an object",
        {"prediction_id": "c", "actual": 0, "note": "late"},
        {"prediction_id": "d", "actual": "yes"},
    ]
    items, problems = feedback_items(payload)
    assert [(i.index, i.prediction_id) for i in items] == [(0, "a"), (4, "d")]
    assert problems == [
        {"index": 1, "field": "actual", "rule": "must be a finite number"},
        {"index": 2, "field": "item", "rule": "must be an object {prediction_id, actual}"},
        {"index": 3, "field": "note", "rule": "unknown field (expected prediction_id and actual)"},
    ]


@pytest.mark.parametrize(
    ("actual", "rule"),
    [
        (None, "must not be null"),
        (float("inf"), "must be a finite number"),
        (float("-inf"), "must be a finite number"),
        (float("nan"), "must be a finite number"),
        (2**63, "integer out of range"),
        (-(2**100), "integer out of range"),
        ({"label": 1}, "must be a number, text or a boolean"),
        ([1, 0], "must be a number, text or a boolean"),
        ([], "must be a number, text or a boolean"),
        (b"1", "must be a number, text or a boolean"),
        ("x" * (MAX_ACTUAL_TEXT + 1), f"text longer than {MAX_ACTUAL_TEXT} characters"),
    ],
)
def test_hostile_labels(actual: object, rule: str) -> None:
    items, problems = feedback_items([{"prediction_id": "p", "actual": actual}])
    assert (items, problems) == ([], [{"index": 0, "field": "actual", "rule": rule}])


@pytest.mark.parametrize(
    ("prediction_id", "rule"),
    [
        ("", "must be a non-empty string"),
        (None, "must be a non-empty string"),
        (12345, "must be a non-empty string"),
        (2**200, "must be a non-empty string"),
        (["p1"], "must be a non-empty string"),
        ({"id": "p1"}, "must be a non-empty string"),
        ("p" * (MAX_ID + 1), f"longer than {MAX_ID} characters"),
        ("p" * 1_000_000, f"longer than {MAX_ID} characters"),
    ],
)
def test_hostile_prediction_ids(prediction_id: object, rule: str) -> None:
    _, problems = feedback_items({"prediction_id": prediction_id, "actual": 1})
    assert problems == [{"index": 0, "field": "prediction_id", "rule": rule}]


def test_the_longest_id_is_accepted() -> None:
    items, _ = feedback_items({"prediction_id": "p" * MAX_ID, "actual": 1})
    assert items[0].prediction_id == "p" * MAX_ID


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"actual": 1}, "prediction_id"),
        ({"prediction_id": "p"}, "actual"),
        ({}, "prediction_id"),
    ],
)
def test_required_fields(item: dict, field: str) -> None:
    assert feedback_items(item)[1] == [{"index": 0, "field": field, "rule": "required"}]


def test_the_first_unknown_field_is_named() -> None:
    item = {"prediction_id": "p", "actual": 1, "zeta": 1, "extra": 2}
    assert feedback_items(item)[1][0]["field"] == "extra"


@pytest.mark.parametrize(
    "payload",
    [None, [], "p1", 42, {"feedback": []}, {"feedback": {"prediction_id": "p", "actual": 1}}],
)
def test_shapes_that_are_not_feedback(payload: object) -> None:
    with pytest.raises(InvalidInput, match="feedback must be an object"):
        feedback_items(payload)


def test_feedback_and_an_item_at_once_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not both"):
        feedback_items({"feedback": [], "prediction_id": "p", "actual": 1})


def test_too_many_items() -> None:
    items = [{"prediction_id": f"p{i}", "actual": i % 2} for i in range(MAX_ITEMS)]
    assert len(feedback_items(items)[0]) == MAX_ITEMS
    with pytest.raises(InvalidInput, match=f"at most {MAX_ITEMS} feedback items"):
        feedback_items([*items, {"prediction_id": "one-more", "actual": 1}])


def test_repeated_ids_are_all_kept_in_order() -> None:
    items, _ = feedback_items(
        [{"prediction_id": "p", "actual": 1}, {"prediction_id": "p", "actual": 0}]
    )
    assert [(i.index, i.actual) for i in items] == [(0, "1"), (1, "0")]
