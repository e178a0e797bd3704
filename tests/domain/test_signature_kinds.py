"""Feature kinds in signatures: closed only where the model says so, open and text checked
for type only, overrides that must hold the sample, old stored kinds loading as before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.domain.signature import Signature, infer_signature
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


def _kinds(sig: Signature) -> dict[str, str]:
    return {f.name: f.kind for f in sig.inputs}


def _rules(sig: Signature, frame: pd.DataFrame) -> set[tuple[object, object, object]]:
    return {(p["row"], p["feature"], p["rule"]) for p in sig.problems(frame)}


@pytest.fixture
def strings() -> pd.DataFrame:
    rows = 40
    return pd.DataFrame(
        {
            "color": ["red", "blue"] * (rows // 2),
            "note": [f"n{i}" for i in range(rows)],  # all distinct: high cardinality
            "review": [
                f"a rather long sentence about the parcel, no. {i % 3}" for i in range(rows)
            ],
        }
    )


def test_strings_are_open_or_text_unless_the_model_closes_them(strings) -> None:
    sig = _infer(strings)
    assert _kinds(sig) == {"color": "open", "note": "text", "review": "text"}
    assert all(f.categories is None for f in sig.inputs)


def test_a_model_closed_column_keeps_the_models_and_the_samples_values(strings) -> None:
    sig = _infer(strings, kinds={"color": "category"}, categories={"color": ["green", "red"]})
    assert sig.feature("color").kind == "category"
    assert sig.feature("color").categories == ("blue", "green", "red")


def test_a_pandas_category_dtype_is_closed_to_its_categories() -> None:
    frame = pd.DataFrame({"plan": pd.Categorical(["a", "b"], categories=["a", "b", "c"])})
    assert _infer(frame).feature("plan").categories == ("a", "b", "c")


def test_more_than_a_thousand_distinct_strings_are_text() -> None:
    frame = pd.DataFrame({"id": [f"x{i}" for i in range(1001)] * 2})
    assert _infer(frame).feature("id").kind == "text"


def test_open_and_text_refuse_no_new_value_but_a_non_string(strings) -> None:
    sig = _infer(strings)
    fresh = pd.DataFrame({"color": ["purple", 3], "note": ["new", "new"], "review": ["x", 4.5]})
    assert _rules(sig, fresh) == {
        (1, "color", "expected a string (open)"),
        (1, "review", "expected a string (text)"),
    }


def test_overrides_set_the_kind(strings) -> None:
    sig = _infer(strings, kinds={"color": "text", "note": "open", "review": "category"})
    assert _kinds(sig) == {"color": "text", "note": "open", "review": "category"}
    assert sig.feature("review").categories == tuple(sorted(set(strings["review"])))


@pytest.mark.parametrize(
    ("frame", "kinds", "message"),
    [
        (pd.DataFrame({"c": ["a"]}), {"c": "float"}, "kind 'float' cannot hold the sample's"),
        (pd.DataFrame({"n": [1.5]}), {"n": "text"}, "kind 'text' holds strings"),
        (pd.DataFrame({"n": [1.5]}), {"n": "int"}, "cannot hold fractional"),
        (pd.DataFrame({"n": [2]}), {"n": "bool"}, "holds only 0/1"),
        (pd.DataFrame({"m": ["a", 1]}), {"m": "open"}, "kind 'open' holds strings"),
    ],
)
def test_an_override_must_hold_the_samples_values(frame, kinds, message) -> None:
    with pytest.raises(SchemaMismatch, match=message):
        _infer(frame, kinds=kinds)


def test_numbers_may_be_said_to_be_int_or_bool() -> None:
    frame = pd.DataFrame({"n": [1.0, 2.0], "f": [0, 1]})
    assert _kinds(_infer(frame, kinds={"n": "int", "f": "bool"})) == {"n": "int", "f": "bool"}


def test_signatures_stored_with_the_old_kinds_behave_as_before() -> None:
    """Before kinds followed the model: ``category`` (closed set) and ``string`` (no check)."""
    stored = {
        "inputs": [
            {"name": "plan", "kind": "category", "nullable": False, "categories": ["a", "b"]},
            {"name": "free", "kind": "string", "nullable": True, "categories": None},
        ],
        "output": {"kind": "classification", "classes": [0, 1], "has_proba": True, "width": 1},
        "input_format": "dataframe",
    }
    sig = Signature.from_dict(stored)
    frame = pd.DataFrame({"plan": ["a", "z"], "free": [7, None]})
    assert _rules(sig, frame) == {(1, "plan", "category never seen in training")}


def test_a_one_input_signature_takes_a_list_a_series_or_an_array() -> None:
    sig = _infer(pd.DataFrame({"review": ["good", "bad"]}), input_format="column")
    for data in (["fine", "new words"], pd.Series(["fine", "new words"]), np.array(["a", "b"])):
        frame = sig.to_frame(data)
        assert frame.columns.tolist() == ["review"]
        assert frame.shape == (2, 1)


def _tensor_signature() -> Signature:
    stored = {
        "inputs": [
            {"name": "image", "kind": "tensor", "nullable": False, "categories": None}
            | {"dtype": "float32", "shape": [3, None]}
        ],
        "output": {"kind": "regression", "classes": None, "has_proba": False, "width": 1},
        "input_format": "tensor",
    }
    return Signature.from_dict(stored)


def test_tensor_fields_round_trip_and_stay_off_other_features(strings) -> None:
    sig = _tensor_signature()
    assert sig.feature("image").shape == (3, None)
    assert Signature.from_dict(sig.to_dict()) == sig
    assert "dtype" not in _infer(strings).to_dict()["inputs"][0]


def test_tensor_rows_are_checked_on_shape_and_dtype() -> None:
    sig = _tensor_signature()
    good = np.zeros((2, 3, 5), dtype=np.float32)
    assert sig.to_frame(good).shape == (2, 1)
    assert sig.to_frame({"image": np.zeros((1, 3, 9)).tolist()}).shape == (1, 1)
    assert sig.to_frame([{"image": np.zeros((3, 1)).tolist()}] * 2).shape == (2, 1)
    with pytest.raises(
        SchemaMismatch, match=r"row 0: shape \[N, 2, 5\], the model takes \[N, 3, \?\]"
    ):
        sig.to_frame(np.zeros((1, 2, 5)))
    with pytest.raises(SchemaMismatch, match="value is not finite"):
        sig.to_frame(np.full((1, 3, 2), np.inf))
    with pytest.raises(SchemaMismatch, match="expected a batch of numeric arrays"):
        sig.to_frame([["a", "b"]])
