"""Signatures: inferred once from a sample, then every input is checked against them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelyard.domain.signature import MAX_PROBLEMS, Signature, infer_signature
from modelyard.errors import SchemaMismatch


def _infer(frame: pd.DataFrame, **kwargs: object) -> Signature:
    options: dict[str, object] = {
        "input_format": "dataframe",
        "output_kind": "classification",
        "classes": [0, 1],
        "has_proba": True,
    }
    options.update(kwargs)
    return infer_signature(frame, **options)  # type: ignore[arg-type]


@pytest.fixture
def mixed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [30, 40, 50, 61],
            "income": [1.5, np.nan, 3.0, 2.0],
            "member": [True, False, True, True],
            "plan": ["basic", "pro", None, "basic"],
        }
    )


@pytest.fixture
def sig(mixed: pd.DataFrame) -> Signature:
    """``plan`` closed, as when the model refuses plans it was not fitted on."""
    return _infer(mixed, kinds={"plan": "category"})


def _rules(problems: list[dict[str, object]]) -> set[tuple[object, object, object]]:
    return {(p["row"], p["feature"], p["rule"]) for p in problems}


def test_infer_on_the_cancer_frame(cancer) -> None:
    X, _ = cancer
    sig = _infer(X, classes=np.array([0, 1]))
    assert sig.names == list(X.columns)
    assert {f.kind for f in sig.inputs} == {"float"}
    assert not any(f.nullable for f in sig.inputs)
    radius = sig.feature("mean radius")
    assert radius.min == pytest.approx(X["mean radius"].min())
    assert radius.max == pytest.approx(X["mean radius"].max())
    assert sig.output.classes == (0, 1)
    assert all(type(c) is int for c in sig.output.classes)


def test_infer_on_a_mixed_frame(sig: Signature) -> None:
    kinds = {f.name: (f.kind, f.nullable) for f in sig.inputs}
    assert kinds == {
        "age": ("int", False),
        "income": ("float", True),
        "member": ("bool", False),
        "plan": ("category", True),
    }
    assert (sig.feature("age").min, sig.feature("age").max) == (30.0, 61.0)
    assert sig.feature("plan").categories == ("basic", "pro")


def test_infer_refuses_an_empty_sample(mixed: pd.DataFrame) -> None:
    with pytest.raises(SchemaMismatch, match="no rows"):
        _infer(mixed.iloc[:0])


def test_to_frame_accepts_a_dataframe_in_any_column_order(sig, mixed) -> None:
    frame = sig.to_frame(mixed[["plan", "member", "income", "age"]])
    assert list(frame.columns) == sig.names
    pd.testing.assert_frame_equal(frame, mixed)


def test_to_frame_accepts_columns(sig: Signature) -> None:
    frame = sig.to_frame({"age": [30], "income": [None], "member": [True], "plan": ["pro"]})
    assert list(frame.columns) == sig.names
    assert frame.shape == (1, 4)
    assert frame.loc[0, "plan"] == "pro"


def test_to_frame_accepts_records(sig: Signature) -> None:
    records = [
        {"plan": "pro", "age": 30, "income": 1.0, "member": False},
        {"plan": "basic", "age": 41, "income": 2.5, "member": True},
    ]
    frame = sig.to_frame(records)
    assert list(frame.columns) == sig.names
    assert frame["age"].tolist() == [30, 41]


def test_to_frame_accepts_a_2d_list_and_an_ndarray(sig: Signature) -> None:
    row = [30, 1.0, True, "pro"]
    from_list = sig.to_frame([row, row])
    from_array = sig.to_frame(np.array([row], dtype=object))
    assert from_list.shape == (2, 4)
    assert list(from_array.columns) == sig.names
    assert from_array.iloc[0].tolist() == row


def test_to_frame_accepts_integer_column_labels() -> None:
    sig = _infer(pd.DataFrame({"0": [1.0, 2.0], "1": [3.0, 4.0]}))
    frame = sig.to_frame(pd.DataFrame({0: [1.0], 1: [2.0]}))
    assert list(frame.columns) == ["0", "1"]


@pytest.mark.parametrize("data", ["abc", 5, None, b"rows"])
def test_to_frame_refuses_non_tables(sig: Signature, data: object) -> None:
    with pytest.raises(SchemaMismatch, match="expected a table"):
        sig.to_frame(data)


def test_to_frame_refuses_no_rows_and_3d(sig: Signature) -> None:
    with pytest.raises(SchemaMismatch, match="no rows given"):
        sig.to_frame([])
    with pytest.raises(SchemaMismatch, match="expected 2-D rows, got 3"):
        sig.to_frame(np.zeros((1, 4, 2)))


def test_missing_and_unknown_features(sig: Signature, mixed: pd.DataFrame) -> None:
    frame = mixed.drop(columns=["income"]).assign(colour=["red"] * 4)
    assert _rules(sig.problems(frame)) == {
        (None, "income", "missing feature"),
        (None, "colour", "unknown feature"),
    }
    with pytest.raises(SchemaMismatch, match=r"feature 'income': missing feature \(and 1 more\)"):
        sig.to_frame(frame)


def test_duplicate_columns_are_a_problem_not_a_crash(sig: Signature, mixed: pd.DataFrame) -> None:
    frame = pd.concat([mixed, mixed[["age"]]], axis=1)
    assert _rules(sig.problems(frame)) == {(None, "age", "duplicate feature")}


def test_a_string_in_a_numeric_feature(sig: Signature, mixed: pd.DataFrame) -> None:
    frame = mixed.astype({"age": object})
    frame.loc[2, "age"] = "fifty"
    assert _rules(sig.problems(frame)) == {(2, "age", "expected a number (int)")}


def test_numeric_strings_are_wrong_type_too(sig: Signature, mixed: pd.DataFrame) -> None:
    frame = mixed.astype({"income": object})
    frame.loc[0, "income"] = "1.5"
    assert _rules(sig.problems(frame)) == {(0, "income", "expected a number (float)")}


def test_null_where_not_nullable(sig: Signature, mixed: pd.DataFrame) -> None:
    frame = mixed.astype({"age": float})
    frame.loc[1, "age"] = np.nan
    assert _rules(sig.problems(frame)) == {(1, "age", "null not allowed")}
    with pytest.raises(SchemaMismatch, match="feature 'age' in row 1: null not allowed") as info:
        sig.check(frame)
    assert info.value.problems == [{"row": 1, "feature": "age", "rule": "null not allowed"}]


def test_null_is_fine_where_nullable(sig: Signature, mixed: pd.DataFrame) -> None:
    frame = mixed.assign(income=np.nan, plan=None)
    assert sig.problems(frame) == []


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_values(sig: Signature, mixed: pd.DataFrame, value: float) -> None:
    frame = mixed.copy()
    frame.loc[3, "income"] = value
    assert _rules(sig.problems(frame)) == {(3, "income", "value is not finite")}


def test_unseen_category(sig: Signature, mixed: pd.DataFrame) -> None:
    frame = mixed.assign(plan=["basic", "gold", None, "pro"])
    assert _rules(sig.problems(frame)) == {(1, "plan", "category never seen in training")}


def test_wrong_row_width(sig: Signature) -> None:
    with pytest.raises(SchemaMismatch, match="rows have 3 values, the model takes 4") as info:
        sig.to_frame([[30, 1.0, True]])
    assert info.value.problems == [{"row": None, "feature": None, "rule": "row width"}]


def test_unequal_column_lengths(sig: Signature) -> None:
    columns = {"age": [1, 2], "income": [1.0], "member": [True, True], "plan": ["pro"] * 2}
    with pytest.raises(SchemaMismatch, match=r"columns have different lengths: \[1, 2\]"):
        sig.to_frame(columns)


def test_columns_must_be_lists(sig: Signature) -> None:
    with pytest.raises(SchemaMismatch, match="map each feature to a list"):
        sig.to_frame({"age": 30, "income": [1.0], "member": [True], "plan": ["pro"]})


def test_problems_are_capped_at_the_first_hundred() -> None:
    sig = _infer(pd.DataFrame({"x": [1.0], "y": [2.0]}))
    bad = pd.DataFrame({"x": [np.nan] * 150, "y": [np.inf] * 150})
    found = sig.problems(bad)
    assert len(found) == MAX_PROBLEMS
    assert found[0] == {"row": 0, "feature": "x", "rule": "null not allowed"}
    assert found[-1] == {"row": 99, "feature": "x", "rule": "null not allowed"}
    with pytest.raises(SchemaMismatch, match=r"\(and 99 more\)"):
        sig.check(bad)


def test_to_dict_from_dict_round_trip_through_json(sig: Signature) -> None:
    data = json.loads(json.dumps(sig.to_dict()))
    again = Signature.from_dict(data)
    assert again == sig
    assert again.feature("plan").categories == ("basic", "pro")
    assert again.output.classes == (0, 1)
    assert again.to_dict() == sig.to_dict()


def test_round_trip_keeps_an_empty_category_set() -> None:
    sig = _infer(pd.DataFrame({"a": [None, None], "b": [1.0, 2.0]}), kinds={"a": "category"})
    assert sig.feature("a").categories == ()
    again = Signature.from_dict(json.loads(json.dumps(sig.to_dict())))
    assert again == sig
    assert again.problems(pd.DataFrame({"a": ["x"], "b": [1.0]})) == sig.problems(
        pd.DataFrame({"a": ["x"], "b": [1.0]})
    )
