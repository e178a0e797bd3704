"""XGBoost and LightGBM through their own formats: register, load back, same predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from modelyard import SchemaMismatch, UnsupportedModel, Yard

Data = tuple[pd.DataFrame, pd.Series]


@pytest.fixture(scope="module")
def diabetes() -> Data:
    frame, target = load_diabetes(return_X_y=True, as_frame=True)
    return frame, target


def test_xgboost_classifier_round_trip(sqlite_yard: Yard, cancer: Data):
    xgboost = pytest.importorskip("xgboost")
    X, y = cancer
    model = xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1).fit(X, y)
    version = sqlite_yard.register(model, "xgb", sample=X)
    assert version.flavor == "xgboost"
    assert version.flavor_meta["classifier"] is True
    predictor = sqlite_yard.load("xgb@1")
    np.testing.assert_array_equal(predictor.predict(X), model.predict(X))
    np.testing.assert_array_equal(predictor.predict_proba(X), model.predict_proba(X))


def test_xgboost_regressor_round_trip(sqlite_yard: Yard, diabetes: Data):
    xgboost = pytest.importorskip("xgboost")
    X, y = diabetes
    model = xgboost.XGBRegressor(n_estimators=20, max_depth=3, n_jobs=1).fit(X, y)
    version = sqlite_yard.register(model, "xgb-sugar", sample=X)
    assert version.signature["output"]["kind"] == "regression"
    predictor = sqlite_yard.load("xgb-sugar")
    np.testing.assert_array_equal(predictor.predict(X), model.predict(X))
    with pytest.raises(UnsupportedModel, match="no predict_proba"):
        predictor.predict_proba(X)


def _lightgbm_frame(X: pd.DataFrame) -> pd.DataFrame:
    # names without spaces: the plain case, before LightGBM's renaming comes into play
    return X.rename(columns=lambda c: c.replace(" ", "_"))


def test_lightgbm_classifier_round_trip(sqlite_yard: Yard, cancer: Data):
    lightgbm = pytest.importorskip("lightgbm")
    X, y = cancer
    X = _lightgbm_frame(X)
    model = lightgbm.LGBMClassifier(n_estimators=20, n_jobs=1, verbose=-1).fit(X, y)
    version = sqlite_yard.register(model, "lgbm", sample=X)
    assert version.flavor == "lightgbm"
    assert list(version.signature["output"]["classes"]) == [0, 1]
    predictor = sqlite_yard.load("lgbm@1")
    np.testing.assert_array_equal(predictor.predict(X), model.predict(X))
    np.testing.assert_allclose(predictor.predict_proba(X), model.predict_proba(X), rtol=1e-12)


def test_lightgbm_regressor_round_trip(sqlite_yard: Yard, diabetes: Data):
    lightgbm = pytest.importorskip("lightgbm")
    X, y = diabetes
    model = lightgbm.LGBMRegressor(n_estimators=20, n_jobs=1, verbose=-1).fit(X, y)
    version = sqlite_yard.register(model, "lgbm-sugar", sample=X)
    assert version.signature["output"]["kind"] == "regression"
    predictor = sqlite_yard.load("lgbm-sugar")
    np.testing.assert_allclose(predictor.predict(X), model.predict(X), rtol=1e-12)
    with pytest.raises(UnsupportedModel, match="no predict_proba"):
        predictor.predict_proba(X)


def test_lightgbm_accepts_the_training_frame_with_spaces_in_names(sqlite_yard: Yard, cancer: Data):
    """LightGBM stores 'mean radius' as 'mean_radius'; the signature keeps the user's names."""
    lightgbm = pytest.importorskip("lightgbm")
    X, y = cancer
    model = lightgbm.LGBMClassifier(n_estimators=20, n_jobs=1, verbose=-1).fit(X, y)
    version = sqlite_yard.register(model, "lgbm", sample=X)
    assert version.signature["inputs"][0]["name"] == "mean radius"
    np.testing.assert_array_equal(sqlite_yard.load("lgbm").predict(X), model.predict(X))


def test_lightgbm_sample_with_other_names_is_refused(sqlite_yard: Yard, cancer: Data):
    lightgbm = pytest.importorskip("lightgbm")
    X, y = cancer
    model = lightgbm.LGBMClassifier(n_estimators=20, n_jobs=1, verbose=-1).fit(X, y)
    with pytest.raises(SchemaMismatch, match="missing mean_radius"):
        sqlite_yard.register(model, "lgbm", sample=X.rename(columns={"mean radius": "r"}))
