"""The skops allow-list: classes only, each needed by a common model, checked again at load."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    RandomForestRegressor,
    StackingClassifier,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.feature_selection import SelectKBest
from sklearn.gaussian_process import GaussianProcessClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, TweedieRegressor
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelyard import UntrustedContent
from modelyard.flavors.sklearn import MODEL_FILE, SklearnFlavor
from modelyard.flavors.skops_trust import ALLOW_LIST_VERSION, ALLOWED, vet_stored_file

TREE = "sklearn.tree._tree.Tree"
F_CLASSIF = "sklearn.feature_selection._univariate_selection.f_classif"
X, Y = make_classification(n_samples=90, n_features=5, n_informative=3, n_classes=3, random_state=0)
XR, YR = make_regression(n_samples=90, n_features=5, random_state=0)


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_every_allowed_name_is_a_class_of_its_module(name: str) -> None:
    module, _, attribute = name.rpartition(".")
    assert inspect.isclass(getattr(importlib.import_module(module), attribute))
    assert ALLOWED[name]  # and says why it is there


def _mixed_frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"amount": rng.normal(size=90), "city": rng.choice(["oslo", "rome", "lima"], 90)}
    )
    return frame, rng.integers(0, 2, 90)


def _encoded() -> object:
    frame, labels = _mixed_frame()
    columns = ColumnTransformer(
        [
            ("n", make_pipeline(SimpleImputer(), StandardScaler()), ["amount"]),
            ("c", OneHotEncoder(handle_unknown="ignore"), ["city"]),
        ]
    )
    return make_pipeline(columns, HistGradientBoostingClassifier(max_iter=5)).fit(frame, labels)


COMMON: dict[str, Callable[[], object]] = {
    "forest": lambda: RandomForestRegressor(n_estimators=3, random_state=0).fit(XR, YR),
    "encoded hist gradient boosting": _encoded,
    "kd tree neighbours": lambda: KNeighborsClassifier().fit(X, Y),
    "ball tree neighbours": lambda: KNeighborsClassifier(algorithm="ball_tree").fit(X, Y),
    "mlp": lambda: MLPClassifier(tol=1.0, n_iter_no_change=1, random_state=0).fit(X, Y),
    "gaussian process": lambda: GaussianProcessClassifier().fit(X[:40], Y[:40]),
    "calibrated": lambda: CalibratedClassifierCV(LogisticRegression()).fit(X, Y),
    "stacking": lambda: StackingClassifier(
        [("lr", LogisticRegression()), ("knn", KNeighborsClassifier())]
    ).fit(X, Y),
    "tweedie": lambda: TweedieRegressor().fit(XR, np.abs(YR)),
    "text": lambda: make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(
        ["a cat sat", "a dog ran", "the cat ran", "dogs sat"] * 5, [0, 1, 0, 1] * 5
    ),
}


@pytest.mark.parametrize("family", sorted(COMMON))
def test_common_models_need_no_flag_and_load_back(family: str) -> None:
    model = COMMON[family]()
    flavor = SklearnFlavor()
    saved = flavor.save(model, trust_types=False)
    assert saved.trusted_by_flag == ()
    assert saved.meta["allow_list"] == ALLOW_LIST_VERSION
    loaded = flavor.load(saved.files, saved.meta).model
    assert type(loaded) is type(model)


def test_a_function_needs_the_flag_even_from_scikit_learn() -> None:
    model = make_pipeline(SelectKBest(k=2), LogisticRegression()).fit(X, Y)
    flavor = SklearnFlavor()
    with pytest.raises(UntrustedContent, match=rf"{F_CLASSIF}, outside .*--trust-types"):
        flavor.save(model, trust_types=False)
    saved = flavor.save(model, trust_types=True)
    assert saved.trusted_by_flag == (F_CLASSIF,)
    assert saved.meta["trusted_by_flag"] == [F_CLASSIF]
    assert flavor.load(saved.files, saved.meta).predict(X[:2]).shape == (2,)


def test_rows_written_before_the_allow_list_still_load() -> None:
    forest = RandomForestRegressor(n_estimators=2, random_state=0).fit(XR, YR)
    data = sio.dumps(forest)
    old = {"format": "skops", "trusted_types": [TREE], "foreign_types_trusted": False}
    assert SklearnFlavor().load({MODEL_FILE: data}, old).predict(XR[:2]).shape == (2,)


def test_an_old_row_that_trusted_foreign_types_vouches_only_for_those() -> None:
    model = make_pipeline(SelectKBest(k=2), LogisticRegression()).fit(X, Y)
    data = sio.dumps(model)
    old = {"format": "skops", "trusted_types": [F_CLASSIF], "foreign_types_trusted": True}
    with pytest.raises(UntrustedContent, match=r"f_classif, outside the skops allow-list"):
        vet_stored_file(data, old)


def test_a_file_needing_a_type_its_row_does_not_record_is_refused() -> None:
    data = sio.dumps(RandomForestRegressor(n_estimators=2, random_state=0).fit(XR, YR))
    meta = {"format": "skops", "trusted_types": [], "allow_list": 1, "trusted_by_flag": []}
    with pytest.raises(UntrustedContent, match=rf"names {TREE}, which its version row does not"):
        vet_stored_file(data, meta)


@pytest.mark.parametrize("bad", [TREE, [1], None])
def test_a_row_whose_trust_list_is_not_a_list_of_names_is_refused(bad: object) -> None:
    data = sio.dumps(LogisticRegression().fit(X, Y))
    with pytest.raises(UntrustedContent, match="not a list of type names"):
        vet_stored_file(data, {"format": "skops", "trusted_types": bad})
