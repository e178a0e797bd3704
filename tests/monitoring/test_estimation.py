"""CBPE-style estimates on generated data whose ground truth is known."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.monitoring.estimation import (
    ScoreSketch,
    calibrate,
    estimate,
    fit_reference,
    interval,
    realized_metrics,
    sketch_of,
)


def _data(rng: np.random.Generator, n: int, shift: float, classes: int = 2):
    """Covariate shift: x moves, P(y | x) stays the same logistic rule."""
    x = rng.normal(shift, 1.0, size=(n, 3))
    logits = np.stack(
        [x @ np.array([1.5, -1.0, 0.5]) * (k - (classes - 1) / 2) for k in range(classes)], axis=1
    )
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(classes, p=row) for row in p])
    return x, y


@pytest.mark.parametrize("classes", [2, 3])
def test_the_estimate_tracks_realized_metrics_under_covariate_shift(classes: int) -> None:
    rng = np.random.default_rng(1)
    x_train, y_train = _data(rng, 4000, 0.0, classes)
    model = LogisticRegression().fit(x_train, y_train)
    x_hold, y_hold = _data(rng, 3000, 0.0, classes)
    reference = fit_reference(model.predict_proba(x_hold), y_hold, [str(c) for c in range(classes)])
    for shift in (0.0, 0.5, 1.0, 1.5):
        x, y = _data(rng, 1000, shift, classes)
        calibrated = calibrate(model.predict_proba(x), reference["calibration"])
        estimated = estimate(sketch_of(calibrated))
        realized = realized_metrics(model.predict_proba(x), y)
        for metric in ("accuracy", "f1", "roc_auc"):
            half = interval(reference, metric, 1000)
            assert half is not None
            assert 0 < half < 0.2
            # The interval is the realized metric's own sampling spread at this size; the
            # estimate, from the same number of rows, has about as much: twice covers both.
            assert abs(estimated[metric] - realized[metric]) <= 2 * half, (shift, metric)  # type: ignore[operator]
    # the shift away from the decision boundary changes accuracy, and the estimate saw it
    assert reference["realized"]["accuracy"] != pytest.approx(estimated["accuracy"], abs=0.02)


def test_sketches_merge_to_the_sketch_of_all_rows() -> None:
    rng = np.random.default_rng(2)
    proba = rng.dirichlet([1, 1, 1], size=500)
    whole = sketch_of(proba)
    parts = sketch_of(proba[:200])
    parts.merge(sketch_of(proba[200:]))
    assert estimate(parts) == pytest.approx(estimate(whole))
    again = ScoreSketch.from_json(3, parts.to_json())
    assert estimate(again) == pytest.approx(estimate(whole))


def test_isotonic_calibration_is_kept_only_where_it_lowers_the_error() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 4000)
    y = (rng.uniform(0, 1, 4000) < p**3).astype(int)  # scores far too confident
    reference = fit_reference(np.column_stack([1 - p, p]), y, ["0", "1"])
    assert reference["calibration"] is not None
    assert reference["ece"]["calibrated"]["1"] < reference["ece"]["raw"]["1"]
    good = (rng.uniform(0, 1, 4000) < p).astype(int)  # already calibrated
    assert fit_reference(np.column_stack([1 - p, p]), good, ["0", "1"])["estimated"][
        "accuracy"
    ] == pytest.approx(realized_metrics(np.column_stack([1 - p, p]), good)["accuracy"], abs=0.03)


def test_concept_shift_is_out_of_scope() -> None:
    """When P(y | x) changes the scores do not, so neither does the estimate (documented)."""
    rng = np.random.default_rng(4)
    x, y = _data(rng, 4000, 0.0)
    model = LogisticRegression().fit(x, y)
    reference = fit_reference(model.predict_proba(x), y, ["0", "1"])
    flipped = 1 - y  # the world changed its mind
    estimated = estimate(sketch_of(calibrate(model.predict_proba(x), reference["calibration"])))
    realized = realized_metrics(model.predict_proba(x), flipped)
    assert estimated["accuracy"] - realized["accuracy"] > 0.3  # type: ignore[operator]
