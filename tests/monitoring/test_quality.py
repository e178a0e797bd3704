"""Live quality from labelled predictions, checked against scikit-learn's metrics computed
directly on the same values."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pytest
from sklearn import metrics
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelyard.monitoring.quality import label, quality
from modelyard.store.predictions import LabeledPrediction

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def quality_json(*args: Any) -> dict[str, Any]:
    """Quality as the summary's JSON says it (the metrics measured, even when None)."""
    return quality(*args).to_json()


def _rows(predictions, actuals, scores=None) -> list[LabeledPrediction]:
    scores = scores if scores is not None else [None] * len(predictions)
    return [
        LabeledPrediction(
            "m@1",
            NOW,
            NOW,
            orjson.dumps(p, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
            orjson.dumps(s, option=orjson.OPT_SERIALIZE_NUMPY).decode() if s is not None else None,
            orjson.dumps(a, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
        )
        for p, a, s in zip(predictions, actuals, scores, strict=True)
    ]


@pytest.mark.parametrize(
    ("value", "text"), [(1, "1"), (1.0, "1"), ("1", "1"), (2.5, "2.5"), (True, "True")]
)
def test_labels_compare_as_text(value, text: str) -> None:
    assert label(value) == text


def test_binary_classification_matches_sklearn(logreg, cancer) -> None:
    X, y = cancer
    predictions, scores = logreg.predict(X), logreg.predict_proba(X)
    truth = y.to_numpy()
    # The same labels as callers send them: 1, 1.0 and "1" are one label.
    sent = [[int(t), float(t), str(t)][i % 3] for i, t in enumerate(truth)]
    result = quality_json(_rows(predictions, sent, scores), "classification", [0, 1])
    assert result == {
        "labeled": len(truth),
        "accuracy": pytest.approx(metrics.accuracy_score(truth, predictions)),
        "precision": pytest.approx(metrics.precision_score(truth, predictions)),
        "recall": pytest.approx(metrics.recall_score(truth, predictions)),
        "f1": pytest.approx(metrics.f1_score(truth, predictions)),
        "roc_auc": pytest.approx(metrics.roc_auc_score(truth, scores[:, 1])),
    }
    assert result["accuracy"] < 1.0  # a real model makes mistakes: not a trivial check


def test_multiclass_classification_matches_sklearn() -> None:
    X, y = load_iris(return_X_y=True)
    X = X[:, :2]  # two features: a model that makes mistakes
    model = LogisticRegression(max_iter=1000).fit(X[::2], y[::2])
    predictions, scores = model.predict(X), model.predict_proba(X)
    result = quality_json(_rows(predictions, y, scores), "classification", [0, 1, 2])
    assert 0.5 < metrics.accuracy_score(y, predictions) < 0.95
    macro = {"average": "macro", "zero_division": 0}
    assert result["accuracy"] == pytest.approx(metrics.accuracy_score(y, predictions))
    assert result["precision"] == pytest.approx(metrics.precision_score(y, predictions, **macro))
    assert result["recall"] == pytest.approx(metrics.recall_score(y, predictions, **macro))
    assert result["f1"] == pytest.approx(metrics.f1_score(y, predictions, **macro))
    assert result["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, scores, multi_class="ovr"))


def test_text_classes_use_the_greater_label_as_positive() -> None:
    predictions = ["yes", "yes", "no", "no", "yes"]
    actuals = ["yes", "no", "no", "yes", "yes"]
    result = quality_json(_rows(predictions, actuals), "classification", ["no", "yes"])
    assert result["precision"] == pytest.approx(
        metrics.precision_score(actuals, predictions, pos_label="yes")
    )
    assert result["recall"] == pytest.approx(2 / 3)


def test_regression_matches_sklearn() -> None:
    X, y = load_diabetes(return_X_y=True)
    predictions = LinearRegression().fit(X[::2], y[::2]).predict(X)
    result = quality_json(_rows(predictions, y), "regression", None)
    assert result == {
        "labeled": len(y),
        "mae": pytest.approx(metrics.mean_absolute_error(y, predictions)),
        "rmse": pytest.approx(math.sqrt(metrics.mean_squared_error(y, predictions))),
        "r2": pytest.approx(metrics.r2_score(y, predictions)),
    }


def test_regression_skips_labels_that_are_not_numbers() -> None:
    result = quality_json(_rows([1.0, 2.0, 3.0], [1.5, "n/a", True]), "regression", None)
    assert result == {"labeled": 1, "mae": 0.5, "rmse": 0.5, "r2": None}
    assert quality_json(_rows([1.0], ["n/a"]), "regression", None) == {"labeled": 0}


def test_roc_auc_needs_scores_and_both_outcomes() -> None:
    scores = [[0.8, 0.2], [0.3, 0.7], [0.4, 0.6]]
    one_class = quality_json(_rows([0, 1, 1], [1, 1, 1], scores), "classification", [0, 1])
    assert one_class["roc_auc"] is None
    assert one_class["accuracy"] == pytest.approx(2 / 3)
    no_scores = quality_json(_rows([0, 1, 1], [0, 1, 0]), "classification", [0, 1])
    assert no_scores["roc_auc"] is None
    some_scores = quality_json(
        _rows([0, 1, 1], [0, 1, 0], [[0.8, 0.2], None, [0.4, 0.6]]), "classification", [0, 1]
    )
    assert some_scores["roc_auc"] is None
    both = quality_json(_rows([0, 1, 1], [0, 1, 0], scores), "classification", [0, 1])
    assert both["roc_auc"] == pytest.approx(metrics.roc_auc_score([0, 1, 0], [0.2, 0.7, 0.6]))


def test_no_rows_and_other_outputs() -> None:
    assert quality_json([], "classification", [0, 1]) == {"labeled": 0}
    assert quality_json(_rows([[1, 2]], [[1, 2]]), "other", None) == {"labeled": 1}


def test_classes_are_taken_from_the_labels_when_the_signature_has_none() -> None:
    predictions, actuals = ["a", "b", "c", "a"], ["a", "b", "b", "c"]
    result = quality_json(_rows(predictions, actuals), "classification", None)
    assert result["accuracy"] == 0.5
    assert result["f1"] == pytest.approx(
        metrics.f1_score(actuals, predictions, average="macro", zero_division=0)
    )


def test_a_binary_label_outside_the_classes_counts_as_a_miss() -> None:
    result = quality_json(_rows([1, 0, 1], [2, 0, 1]), "classification", [0, 1])
    assert (result["labeled"], result["accuracy"]) == (3, pytest.approx(2 / 3))


def test_scores_of_the_wrong_width_give_no_roc_auc() -> None:
    rows = _rows([0, 1], [0, 1], [np.array([0.9, 0.05, 0.05]), np.array([0.1, 0.8, 0.1])])
    assert quality_json(rows, "classification", [0, 1])["roc_auc"] is None
