"""Per-class quality and the confusion matrix, against scikit-learn's own functions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from modelyard.domain.quality_signals import MAX_CLASSES
from modelyard.monitoring.class_metrics import class_report_of


@pytest.mark.parametrize("classes", [["no", "yes"], ["a", "b", "c", "d"]])
def test_per_class_metrics_are_scikit_learns(classes: list[str]) -> None:
    rng = np.random.default_rng(len(classes))
    y_true = rng.choice(classes, size=500).tolist()
    y_pred = [t if rng.random() < 0.7 else str(rng.choice(classes)) for t in y_true]
    report = class_report_of(y_true, y_pred, classes)
    assert report is not None
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, average=None, zero_division=0
    )
    assert [c.label for c in report.classes] == classes
    assert [c.precision for c in report.classes] == pytest.approx(precision)
    assert [c.recall for c in report.classes] == pytest.approx(recall)
    assert [c.f1 for c in report.classes] == pytest.approx(f1)
    assert [c.support for c in report.classes] == support.tolist()
    assert [list(r) for r in report.confusion] == confusion_matrix(
        y_true, y_pred, labels=classes
    ).tolist()
    assert report.metrics()[f"recall[class={classes[1]}]"] == pytest.approx(recall[1])


def test_a_label_outside_the_model_classes_gets_a_row_of_its_own() -> None:
    report = class_report_of(["no", "yes", "maybe"], ["no", "no", "yes"], ["no", "yes"])
    assert report is not None
    assert report.labels == ("no", "yes", "maybe")
    assert report.confusion[2] == (0, 1, 0)


def test_too_many_labels_make_no_report() -> None:
    labels = [str(i) for i in range(MAX_CLASSES + 1)]
    assert class_report_of(labels, labels, None) is None
