"""What a fitted scikit-learn model says about its inputs, and the signature that follows:
closed only where an encoder refuses unknown values, text where a vectorizer reads it, a
1-D input where the model was fitted on a list of strings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder
from tests.kind_models import NEW_COLOUR, NEW_SENTENCES, colour_model, colours, text_model

from modelyard import InvalidInput, SchemaMismatch, Yard
from modelyard.flavors.sklearn_inputs import input_hints


def _kinds(version) -> dict[str, str]:
    return {f["name"]: f["kind"] for f in version.signature["inputs"]}


def test_encoders_refusing_unknown_values_close_their_columns() -> None:
    frame, labels = colours()
    frame = frame.assign(shape=np.where(labels == 1, "round", "square"), note="x")
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["note"]),
        (make_pipeline(SimpleImputer(strategy="most_frequent"), OrdinalEncoder()), [2]),
        (OneHotEncoder(), ["color"]),
        remainder="passthrough",
    )
    model = make_pipeline(encode, LogisticRegression()).fit(frame, labels)
    hints = input_hints(model)
    assert hints.closed == {0: ("blue", "green", "red", "yellow"), 2: ("round", "square")}
    assert hints.text == set()
    assert not hints.one_dimensional


def test_a_vectorizer_on_one_column_makes_it_text() -> None:
    frame = pd.DataFrame({"review": ["good day", "bad day", "good"], "n": [1, 2, 3]})
    encode = make_column_transformer((CountVectorizer(), "review"), remainder="passthrough")
    model = make_pipeline(encode, LogisticRegression()).fit(frame, [1, 0, 1])
    assert input_hints(model).text == {0}


def test_a_pipeline_fitted_on_a_list_takes_one_1d_input() -> None:
    model, _ = text_model()
    hints = input_hints(model)
    assert hints.one_dimensional
    assert hints.text == {0}


@pytest.mark.parametrize("form", ["list", "series", "frame"])
def test_a_text_pipeline_registers_from_a_list_series_or_frame(sqlite_yard: Yard, form) -> None:
    model, texts = text_model()
    sample = {
        "list": texts,
        "series": pd.Series(texts, name="review"),
        "frame": pd.DataFrame({"review": texts}),
    }[form]
    version = sqlite_yard.register(model, "sentiment", sample=sample)
    name = "input" if form == "list" else "review"
    assert _kinds(version) == {name: "text"}
    assert version.signature["input_format"] == "column"
    predictor = sqlite_yard.load("sentiment")
    np.testing.assert_array_equal(predictor.predict(NEW_SENTENCES), model.predict(NEW_SENTENCES))
    np.testing.assert_allclose(
        predictor.predict_proba(pd.Series(NEW_SENTENCES)), model.predict_proba(NEW_SENTENCES)
    )
    profile = sqlite_yard.profile(version.ref)
    assert profile["features"][name]["type"] == "text"


def test_an_ignoring_encoder_is_open_and_predicts_a_new_colour(sqlite_yard: Yard) -> None:
    model, frame = colour_model("ignore")
    version = sqlite_yard.register(model, "paint", sample=frame)
    assert _kinds(version) == {"color": "open", "size": "float"}
    fresh = pd.DataFrame({"color": [NEW_COLOUR, "red"], "size": [0.3, 2.0]})
    predictor = sqlite_yard.load("paint")
    np.testing.assert_array_equal(predictor.predict(fresh), model.predict(fresh))


def test_a_refusing_encoder_is_closed_and_a_new_colour_is_refused(sqlite_yard: Yard) -> None:
    model, frame = colour_model("error")
    version = sqlite_yard.register(model, "paint", sample=frame)
    assert _kinds(version) == {"color": "category", "size": "float"}
    fresh = pd.DataFrame({"color": [NEW_COLOUR], "size": [0.3]})
    with pytest.raises(SchemaMismatch, match="'color' in row 0: category never seen"):
        sqlite_yard.load("paint").predict(fresh)


def test_python_overrides_win_over_inference(sqlite_yard: Yard) -> None:
    model, frame = colour_model("ignore")
    version = sqlite_yard.register(model, "paint", sample=frame, features={"color": "closed"})
    assert _kinds(version) == {"color": "category", "size": "float"}
    assert version.signature["inputs"][0]["categories"] == ["blue", "green", "red", "yellow"]


@pytest.mark.parametrize(
    ("features", "error", "message"),
    [
        ({"colour": "open"}, InvalidInput, "no column 'colour' in the sample"),
        ({"color": "tensor"}, InvalidInput, "unknown kind 'tensor'"),
        ({"color": "numeric"}, SchemaMismatch, "'color': kind 'float' cannot hold"),
        ({"size": "text"}, SchemaMismatch, "'size': kind 'text' holds strings"),
    ],
)
def test_bad_overrides_register_nothing(sqlite_yard: Yard, features, error, message) -> None:
    model, frame = colour_model("ignore")
    with pytest.raises(error, match=message):
        sqlite_yard.register(model, "paint", sample=frame, features=features)
    assert sqlite_yard.list_models() == []


def test_overrides_need_a_sample(sqlite_yard: Yard) -> None:
    model, _ = colour_model("ignore")
    with pytest.raises(SchemaMismatch, match="features= sets kinds of the sample's columns"):
        sqlite_yard.register(model, "paint", features={"color": "open"})
    assert sqlite_yard.list_models() == []


def test_a_vectorizer_model_takes_one_column_not_two(sqlite_yard: Yard) -> None:
    model, texts = text_model()
    two = pd.DataFrame({"a": texts, "b": texts})
    with pytest.raises(SchemaMismatch, match="one 1-D input; the sample has 2 columns"):
        sqlite_yard.register(model, "sentiment", sample=two)
