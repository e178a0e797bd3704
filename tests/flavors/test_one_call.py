"""Serving gets labels from probabilities only where that is exactly scikit-learn's predict."""

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.svm import SVC

from modelyard.flavors.sklearn import SklearnAdapter


@pytest.mark.parametrize(
    "model",
    [
        RandomForestClassifier(n_estimators=5, random_state=0),
        HistGradientBoostingClassifier(max_iter=10),
    ],
)
def test_one_call_labels_equal_predict(model, cancer, logreg) -> None:
    X, y = cancer
    for fitted in (model.fit(X, y), logreg):
        adapter = SklearnAdapter(fitted)
        assert adapter.one_call
        labels, probabilities = adapter.predict_with_proba(X)
        np.testing.assert_array_equal(labels, fitted.predict(X))
        np.testing.assert_array_equal(probabilities, fitted.predict_proba(X))


def test_calibrated_svc_keeps_two_calls(cancer) -> None:
    X, y = cancer
    svc = CalibratedClassifierCV(SVC(), ensemble=False).fit(X.iloc[:200], y.iloc[:200])
    adapter = SklearnAdapter(svc)
    assert not adapter.one_call
    labels, _ = adapter.predict_with_proba(X)
    np.testing.assert_array_equal(labels, svc.predict(X))
