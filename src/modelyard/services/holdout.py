"""A labelled holdout given at registration: the reference that lets the monitor estimate
a classifier's performance before any label arrives (``monitoring/estimation.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelyard.domain.feedback import label
from modelyard.domain.signature import Signature
from modelyard.errors import InvalidInput, SchemaMismatch, first_line

if TYPE_CHECKING:
    import pandas as pd

    from modelyard.flavors.base import ModelAdapter

MIN_ROWS = 100  # fewer labelled rows give intervals too wide to judge anything by
Holdout = tuple[object, object]


def split_holdout(table: pd.DataFrame, label_column: str) -> Holdout:
    """A holdout file's features and labels (``--holdout FILE --label COLUMN``)."""
    if label_column not in table.columns:
        raise InvalidInput(f"holdout: no label column {label_column!r} in {list(table.columns)}")
    return table.drop(columns=[label_column]), table[label_column]


def estimation_reference(
    adapter: ModelAdapter, signature: Signature, holdout: Holdout
) -> dict[str, Any]:
    """Calibration, realized metrics and interval widths from the holdout's predictions."""
    import numpy as np

    from modelyard.monitoring.estimation import fit_reference

    output = signature.output
    if output.kind != "classification" or not output.has_proba or not output.classes:
        raise InvalidInput(
            "holdout: performance is estimated for classifiers with probabilities only "
            f"(this model's output is {output.kind!r})"
        )
    features, labels = holdout
    try:
        frame = signature.to_frame(features)
    except SchemaMismatch as exc:
        raise SchemaMismatch(f"holdout: does not fit the signature: {first_line(exc)}") from None
    truth_labels = [label(v) for v in np.asarray(labels, dtype=object).tolist()]
    if len(truth_labels) != frame.shape[0]:
        raise InvalidInput(
            f"holdout: {frame.shape[0]} rows of features but {len(truth_labels)} labels"
        )
    if len(truth_labels) < MIN_ROWS:
        raise InvalidInput(f"holdout: needs at least {MIN_ROWS} labelled rows")
    classes = [label(c) for c in output.classes]
    unknown = sorted(set(truth_labels) - set(classes))
    if unknown:
        raise InvalidInput(f"holdout: labels {unknown[:5]} are not among the classes {classes}")
    try:
        proba = np.asarray(adapter.predict_proba(frame), dtype=float)
    except Exception as exc:  # the model's own error, whatever its type
        raise SchemaMismatch(f"holdout: the model cannot score it: {first_line(exc)}") from None
    index = {c: i for i, c in enumerate(classes)}
    truth = np.array([index[t] for t in truth_labels])
    return fit_reference(proba, truth, classes)
