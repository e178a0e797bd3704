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
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """What the monitor's estimates need (JSON, in the profile) and the files they need
    beside the model (a regressor's nanny), from the holdout's predictions."""
    output = signature.output
    features, labels = holdout
    try:
        frame = signature.to_frame(features)
    except SchemaMismatch as exc:
        raise SchemaMismatch(f"holdout: does not fit the signature: {first_line(exc)}") from None
    if output.kind == "regression":
        return _regression(adapter, signature, frame, labels)
    if output.kind != "classification" or not output.has_proba or not output.classes:
        raise InvalidInput(
            "holdout: performance is estimated for classifiers with probabilities and for "
            f"regressors (this model's output is {output.kind!r})"
        )
    return _classification(adapter, signature, frame, labels), {}


def _classification(
    adapter: ModelAdapter, signature: Signature, frame: pd.DataFrame, labels: object
) -> dict[str, Any]:
    import numpy as np

    from modelyard.monitoring.estimation import fit_reference

    output = signature.output
    assert output.classes is not None
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


def _regression(
    adapter: ModelAdapter, signature: Signature, frame: pd.DataFrame, labels: object
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Direct loss estimation: a nanny model of the error, saved as skops like models."""
    import numpy as np

    from modelyard.flavors import get_flavor
    from modelyard.monitoring.loss_estimation import NANNY_FILE, fit_nanny, nanny_inputs

    try:
        truth = np.asarray(labels, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise InvalidInput("holdout: a regressor's labels must be numbers") from None
    if truth.size != frame.shape[0]:
        raise InvalidInput(f"holdout: {frame.shape[0]} rows of features but {truth.size} labels")
    if truth.size < MIN_ROWS or not np.isfinite(truth).all():
        raise InvalidInput(f"holdout: needs at least {MIN_ROWS} finite labels")
    try:
        predictions = np.asarray(adapter.predict(frame), dtype=float).reshape(-1)
    except Exception as exc:  # the model's own error, whatever its type
        raise SchemaMismatch(f"holdout: the model cannot predict it: {first_line(exc)}") from None
    names = [spec.name for spec in signature.inputs if spec.numeric]
    columns = {n: frame[n].to_numpy(dtype=float, na_value=np.nan) for n in names}
    nanny, reference = fit_nanny(nanny_inputs(columns, names, predictions), predictions - truth)
    saved = get_flavor("sklearn").save(nanny, trust_types=False)
    (data,) = saved.files.values()
    return {**reference, "inputs": names, "nanny_meta": dict(saved.meta)}, {NANNY_FILE: data}
