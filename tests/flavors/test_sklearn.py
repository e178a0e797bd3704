"""scikit-learn flavor: skops round trips, trusted types, pickles only when trusted, and
registrations refused before anything is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from modelyard import NotFound, SchemaMismatch, UnsupportedModel, UntrustedContent, Yard

TREE = "sklearn.tree._tree.Tree"
TREE_PREDICTOR = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"

Data = tuple[pd.DataFrame, pd.Series]


def doubled(values: pd.DataFrame) -> pd.DataFrame:
    """A function of this test module: skops cannot know it, so it is a foreign type."""
    return values * 2


def blob_count(home: Path) -> int:
    return sum(1 for p in (home / "artifacts" / "blobs").rglob("*") if p.is_file())


def assert_same_outputs(yard: Yard, ref: str, model: Any, X: pd.DataFrame) -> None:
    predictor = yard.load(ref)
    np.testing.assert_array_equal(predictor.predict(X), model.predict(X))
    np.testing.assert_array_equal(predictor.predict_proba(X), model.predict_proba(X))


@pytest.fixture(scope="module")
def hist_boost(cancer: Data) -> HistGradientBoostingClassifier:
    X, y = cancer
    return HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)


# -- round trips -------------------------------------------------------------------------


def test_pipeline_round_trip_needs_no_extra_types(yard: Yard, logreg: Pipeline, cancer: Data):
    X, _ = cancer
    version = yard.register(logreg, "churn", sample=X)
    assert version.flavor == "sklearn"
    assert version.flavor_meta["trusted_types"] == []
    assert_same_outputs(yard, "churn@1", logreg, X)


def test_forest_round_trip_trusts_exactly_the_tree_type(
    sqlite_yard: Yard, forest: RandomForestClassifier, cancer: Data
):
    X, _ = cancer
    version = sqlite_yard.register(forest, "forest", sample=X)
    assert version.flavor_meta["trusted_types"] == [TREE]
    assert_same_outputs(sqlite_yard, "forest", forest, X)


def test_hist_gradient_boosting_round_trip_trusts_exactly_the_predictor_type(
    sqlite_yard: Yard, hist_boost: HistGradientBoostingClassifier, cancer: Data
):
    X, _ = cancer
    version = sqlite_yard.register(hist_boost, "hgb", sample=X)
    assert version.flavor_meta["trusted_types"] == [TREE_PREDICTOR]
    assert_same_outputs(sqlite_yard, "hgb", hist_boost, X)


def test_regressor_round_trip_has_no_predict_proba(sqlite_yard: Yard):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = LinearRegression().fit(X, y)
    version = sqlite_yard.register(model, "sugar", sample=X)
    assert version.signature["output"]["kind"] == "regression"
    predictor = sqlite_yard.load("sugar")
    np.testing.assert_array_equal(predictor.predict(X), model.predict(X))
    with pytest.raises(UnsupportedModel, match="no predict_proba"):
        predictor.predict_proba(X)


def test_model_trained_on_numpy_gets_positional_feature_names(sqlite_yard: Yard, cancer: Data):
    X, y = cancer
    array = X.to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(array, y)
    version = sqlite_yard.register(model, "plain", sample=array)
    predictor = sqlite_yard.load("plain")
    assert predictor.signature.names == [f"f{i}" for i in range(array.shape[1])]
    assert version.signature["input_format"] == "array"
    np.testing.assert_array_equal(predictor.predict(array), model.predict(array))
    # the predictor hands the model a copy of the rows (another memory layout): equal up to
    # floating-point summation order
    np.testing.assert_allclose(
        predictor.predict_proba(array), model.predict_proba(array), rtol=1e-12, atol=1e-15
    )


def test_unfitted_estimator_is_refused(sqlite_yard: Yard):
    with pytest.raises(UnsupportedModel, match="not fitted"):
        sqlite_yard.register(LogisticRegression(), "raw")
    assert sqlite_yard.list_models() == []


# -- foreign types -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def custom_pipeline(cancer: Data) -> Pipeline:
    X, y = cancer
    return make_pipeline(
        FunctionTransformer(doubled), StandardScaler(), LogisticRegression(max_iter=500)
    ).fit(X, y)


def test_foreign_function_is_refused_without_trust_types(
    sqlite_yard: Yard, custom_pipeline: Pipeline, cancer: Data
):
    X, _ = cancer
    with pytest.raises(UntrustedContent, match=r"doubled.*trust_types=True"):
        sqlite_yard.register(custom_pipeline, "custom", sample=X)
    assert sqlite_yard.list_models() == []


def test_foreign_function_is_accepted_with_trust_types(
    sqlite_yard: Yard, custom_pipeline: Pipeline, cancer: Data
):
    X, _ = cancer
    version = sqlite_yard.register(custom_pipeline, "custom", sample=X, trust_types=True)
    assert [t.rsplit(".", 1)[-1] for t in version.flavor_meta["trusted_types"]] == ["doubled"]
    assert version.flavor_meta["trusted_by_flag"] == version.flavor_meta["trusted_types"]
    assert_same_outputs(sqlite_yard, "custom@1", custom_pipeline, X)
    (event,) = sqlite_yard.audit(action="register")
    assert event.details["trusted_types"] is True
    assert event.details["types_trusted_by_flag"] == version.flavor_meta["trusted_types"]


def test_types_on_the_allow_list_are_not_audited_as_trusted_by_flag(
    sqlite_yard: Yard, forest: RandomForestClassifier, cancer: Data
):
    X, _ = cancer
    sqlite_yard.register(forest, "forest", sample=X, trust_types=True)
    (event,) = sqlite_yard.audit(action="register")
    assert event.details["types_trusted_by_flag"] == []


# -- registering files -------------------------------------------------------------------


def test_register_skops_file(
    sqlite_yard: Yard, forest: RandomForestClassifier, cancer: Data, tmp_path: Path
):
    X, _ = cancer
    path = tmp_path / "forest.skops"
    sio.dump(forest, path)
    version = sqlite_yard.register_file(path, "forest", sample=X)
    assert version.flavor_meta["format"] == "skops"
    assert version.flavor_meta["trusted_types"] == [TREE]
    assert_same_outputs(sqlite_yard, "forest@1", forest, X)


def test_pickle_is_refused_without_trust_pickle(
    yard: Yard, logreg: Pipeline, cancer: Data, tmp_path: Path
):
    X, _ = cancer
    path = tmp_path / "model.joblib"
    joblib.dump(logreg, path)
    with pytest.raises(UntrustedContent, match="is a pickle"):
        yard.register_file(path, "pickled", sample=X)
    assert yard.list_models() == []
    assert yard.audit(action="register") == []


def test_pickle_is_registered_with_trust_pickle_and_audited(
    yard: Yard, logreg: Pipeline, cancer: Data, tmp_path: Path
):
    X, _ = cancer
    path = tmp_path / "model.joblib"
    joblib.dump(logreg, path)
    version = yard.register_file(path, "pickled", sample=X, trust_pickle=True)
    assert version.flavor_meta["format"] == "pickle"
    assert_same_outputs(yard, "pickled@1", logreg, X)
    (event,) = yard.audit(action="register")
    assert event.target == "pickled@1"
    assert event.details["trusted_pickle"] is True
    assert event.details["source"] == "model.joblib"


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_skops_file_is_unsupported(
    sqlite_yard: Yard, logreg: Pipeline, tmp_path: Path, damage: str
):
    path = tmp_path / "broken.skops"
    data = sio.dumps(logreg)
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"not a zip at all")
    with pytest.raises(UnsupportedModel, match="not a valid skops file"):
        sqlite_yard.register_file(path, "broken")
    assert sqlite_yard.list_models() == []


def test_unsupported_extension(sqlite_yard: Yard, tmp_path: Path):
    path = tmp_path / "model.txt"
    path.write_text("weights")
    with pytest.raises(UnsupportedModel, match=r"unsupported file type \.txt"):
        sqlite_yard.register_file(path, "text")


def test_missing_file(sqlite_yard: Yard, tmp_path: Path):
    with pytest.raises(NotFound, match="no such file"):
        sqlite_yard.register_file(tmp_path / "absent.skops", "absent")


# -- samples that do not fit the model ---------------------------------------------------


def _numpy_model(cancer: Data) -> Pipeline:
    X, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X.to_numpy(), y)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("dropped column", "missing mean radius"),
        ("extra column", "unknown surprise"),
        ("wrong width array", "has 29 columns, the model takes 30"),
    ],
)
def test_sample_that_does_not_fit_leaves_nothing_behind(
    yard: Yard,
    logreg: Pipeline,
    forest: RandomForestClassifier,
    cancer: Data,
    tmp_path: Path,
    case: str,
    message: str,
):
    X, _ = cancer
    yard.register(logreg, "churn", sample=X)
    home = tmp_path / "home"
    blobs_before = blob_count(home)
    assert blobs_before > 0
    model: object = forest
    if case == "dropped column":
        sample: object = X.drop(columns=["mean radius"])
    elif case == "extra column":
        sample = X.assign(surprise=1.0)
    else:
        model = _numpy_model(cancer)
        sample = X.to_numpy()[:, :-1]
    with pytest.raises(SchemaMismatch, match=message):
        yard.register(model, "churn", sample=sample)
    assert [v.version for v in yard.list_versions("churn")] == [1]
    assert yard.get_model("churn").latest_version == 1
    assert blob_count(home) == blobs_before


def test_clone_of_registered_model_still_needs_fitting(sqlite_yard: Yard, logreg: Pipeline):
    with pytest.raises(UnsupportedModel, match="Pipeline is not fitted"):
        sqlite_yard.register(clone(logreg), "cloned")
