"""Live quality: predictions joined with the ground truth that arrived later, scored with
scikit-learn's metrics (accuracy, precision, recall, F1, ROC AUC; MAE, RMSE, R²).

scikit-learn is imported only when there are labelled rows to score: a summary of an
endpoint without ground truth (``monitor status``) starts without it."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from modelyard.domain.feedback import label
from modelyard.domain.monitor_results import Quality
from modelyard.store.predictions import LabeledPrediction


def quality(rows: Sequence[LabeledPrediction], kind: str, classes: Sequence[Any] | None) -> Quality:
    """Metrics over labelled predictions; ``kind`` is the signature's output kind."""
    if not rows:
        return Quality()
    predictions = [orjson.loads(r.prediction) for r in rows]
    actuals = [orjson.loads(r.actual) for r in rows]
    if kind == "regression":
        return _regression(predictions, actuals)
    if kind == "classification":
        scores = [orjson.loads(r.scores) if r.scores else None for r in rows]
        return _classification(predictions, actuals, scores, classes)
    return Quality(labeled=len(rows))


def _regression(predictions: list[Any], actuals: list[Any]) -> Quality:
    from sklearn import metrics

    pairs = [
        (float(p), float(a))
        for p, a in zip(predictions, actuals, strict=True)
        if _is_number(p) and _is_number(a)
    ]
    if not pairs:
        return Quality()
    y_pred, y_true = np.array([p for p, _ in pairs]), np.array([a for _, a in pairs])
    return Quality(
        labeled=len(pairs),
        kind="regression",
        mae=float(metrics.mean_absolute_error(y_true, y_pred)),
        rmse=float(math.sqrt(metrics.mean_squared_error(y_true, y_pred))),
        r2=float(metrics.r2_score(y_true, y_pred)) if len(pairs) >= 2 else None,
    )


def _classification(
    predictions: list[Any],
    actuals: list[Any],
    scores: list[Any],
    classes: Sequence[Any] | None,
) -> Quality:
    from sklearn import metrics

    y_pred = [label(p) for p in predictions]
    y_true = [label(a) for a in actuals]
    names = [label(c) for c in classes] if classes else sorted(set(y_true) | set(y_pred))
    # A label outside the model's classes (a typo upstream) makes it a multi-class question.
    names += sorted((set(y_true) | set(y_pred)) - set(names))
    binary = len(names) == 2
    average = "binary" if binary else "macro"
    options: dict[str, Any] = {"average": average, "zero_division": 0}
    if binary:
        options["pos_label"] = names[1]  # scikit-learn's convention: the greater label
    else:
        options["labels"] = names
    return Quality(
        labeled=len(y_true),
        kind="classification",
        accuracy=float(metrics.accuracy_score(y_true, y_pred)),
        precision=float(metrics.precision_score(y_true, y_pred, **options)),
        recall=float(metrics.recall_score(y_true, y_pred, **options)),
        f1=float(metrics.f1_score(y_true, y_pred, **options)),
        roc_auc=_roc_auc(y_true, scores, names),
    )


def _roc_auc(y_true: list[str], scores: list[Any], names: list[str]) -> float | None:
    """Needs a probability row for every prediction and both outcomes among the labels."""
    if not names or any(s is None or len(s) != len(names) for s in scores):
        return None
    if len(set(y_true)) < 2 or not set(y_true) <= set(names):
        return None
    from sklearn import metrics

    matrix = np.asarray(scores, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if len(names) == 2:
                truth = np.array([t == names[1] for t in y_true])
                return float(metrics.roc_auc_score(truth, matrix[:, 1]))
            return float(metrics.roc_auc_score(y_true, matrix, multi_class="ovr", labels=names))
        except ValueError:  # e.g. a class absent from the labels
            return None


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
