"""Per-class precision, recall and F1 and the confusion matrix, from the predictions that
got their ground truth (the rows live quality joins, monitoring/quality.py), scored with
scikit-learn's ``precision_recall_fscore_support`` and ``confusion_matrix``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from modelyard.domain.feedback import label
from modelyard.domain.quality_signals import MAX_CLASSES, ClassQuality, ClassReport
from modelyard.store.predictions import LabeledPrediction


def class_report(
    rows: Sequence[LabeledPrediction], kind: str, classes: Sequence[Any] | None
) -> ClassReport | None:
    """None unless a classifier has labelled rows (and at most MAX_CLASSES labels)."""
    if kind != "classification" or not rows:
        return None
    y_pred = [label(orjson.loads(r.prediction)) for r in rows]
    y_true = [label(orjson.loads(r.actual)) for r in rows]
    return class_report_of(y_true, y_pred, classes)


def class_report_of(
    y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[Any] | None
) -> ClassReport | None:
    names = [label(c) for c in classes] if classes else []
    # A label outside the model's classes (a typo upstream) gets its row and column too.
    names += sorted((set(y_true) | set(y_pred)) - set(names))
    if not y_true or len(names) > MAX_CLASSES:
        return None
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=names, average=None, zero_division=0
    )
    matrix = confusion_matrix(y_true, y_pred, labels=names)
    per_class = tuple(
        ClassQuality(name, float(p), float(r), float(f), int(s))
        for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
    )
    return ClassReport(
        tuple(names), per_class, tuple(tuple(int(n) for n in row) for row in matrix.tolist())
    )
