"""Classifier performance estimated without labels (confidence-based, CBPE-style).

At registration a labelled holdout gives the reference: whether isotonic calibration of
each class's probability (one-vs-rest) lowers the expected calibration error on held-out
folds (then the calibrator is kept as its threshold arrays), the realized metrics, and how
much each metric varies over bootstrap chunks of several sizes (the interval's width).

Live, each window keeps a mergeable sketch of the calibrated probabilities: per class a
fixed-bin histogram of counts and probability sums, plus, over the rows predicted as the
class, their count and probability sum. If the scores are calibrated, the expected
confusion matrix follows from these sums alone, and with it accuracy, precision, recall,
F1 and a binned ROC AUC. Reading needs numpy only; fitting imports scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelyard.domain.estimates import Estimate, EstimatedMetric
from modelyard.domain.monitor_results import Quality

BINS = 50  # fixed probability bins per class: [0, 0.02), ..., [0.98, 1]
FOLDS = 5
CHUNK_SIZES = (50, 100, 200, 500, 1000, 2000, 5000)
BOOTSTRAPS = 60
Z = 1.96  # ~95 % interval
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
SEED = 20261204


# -- calibration (numpy at read time: the calibrator is two arrays) ----------------------


def calibrate(proba: np.ndarray, calibration: Sequence[Any] | None) -> np.ndarray:
    """Each class's column mapped through its isotonic thresholds (None: kept), rows
    renormalised to sum to one."""
    matrix = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    if not calibration:
        return np.asarray(matrix, dtype=float)
    out = matrix.copy()
    for k, curve in enumerate(calibration):
        if curve is not None:
            out[:, k] = np.interp(matrix[:, k], curve["x"], curve["y"])
    totals = out.sum(axis=1, keepdims=True)
    even = np.full_like(out, 1.0 / out.shape[1])
    return np.asarray(np.divide(out, totals, out=even, where=totals > 0), dtype=float)


def expected_calibration_error(p: np.ndarray, truth: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate − mean probability| over equal-width bins, weighted by rows."""
    index = np.minimum((p * bins).astype(int), bins - 1)
    counts = np.bincount(index, minlength=bins)
    gap = np.abs(
        np.bincount(index, weights=truth, minlength=bins) - np.bincount(index, p, minlength=bins)
    )
    return float(gap.sum() / max(int(counts.sum()), 1))


# -- the live sketch --------------------------------------------------------------------


@dataclass
class ScoreSketch:
    """Calibrated probabilities of a window's rows, as sums that merge by addition."""

    count: np.ndarray  # (classes, BINS) rows per probability bin
    psum: np.ndarray  # (classes, BINS) probability summed per bin
    predicted: np.ndarray  # (classes,) rows predicted as each class
    predicted_psum: np.ndarray  # (classes,) their probability of that class

    @classmethod
    def empty(cls, classes: int) -> ScoreSketch:
        return cls(
            np.zeros((classes, BINS), dtype=np.int64),
            np.zeros((classes, BINS)),
            np.zeros(classes, dtype=np.int64),
            np.zeros(classes),
        )

    @property
    def rows(self) -> int:
        return int(self.predicted.sum())

    def add(self, calibrated: np.ndarray) -> None:
        classes = self.count.shape[0]
        if calibrated.ndim != 2 or calibrated.shape[1] != classes or calibrated.shape[0] == 0:
            return
        index = np.minimum((calibrated * BINS).astype(int), BINS - 1)
        for k in range(classes):
            self.count[k] += np.bincount(index[:, k], minlength=BINS)
            self.psum[k] += np.bincount(index[:, k], calibrated[:, k], minlength=BINS)
        chosen = calibrated.argmax(axis=1)
        self.predicted += np.bincount(chosen, minlength=classes)
        self.predicted_psum += np.bincount(
            chosen, calibrated[np.arange(chosen.size), chosen], minlength=classes
        )

    def merge(self, other: ScoreSketch) -> None:
        if other.count.shape != self.count.shape:
            return
        self.count += other.count
        self.psum += other.psum
        self.predicted += other.predicted
        self.predicted_psum += other.predicted_psum

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count.tolist(),
            "psum": self.psum.tolist(),
            "predicted": self.predicted.tolist(),
            "predicted_psum": self.predicted_psum.tolist(),
        }

    @classmethod
    def from_json(cls, classes: int, data: Mapping[str, Any]) -> ScoreSketch:
        sketch = cls(
            np.asarray(data["count"], dtype=np.int64),
            np.asarray(data["psum"], dtype=float),
            np.asarray(data["predicted"], dtype=np.int64),
            np.asarray(data["predicted_psum"], dtype=float),
        )
        if sketch.count.shape != (classes, BINS):
            raise ValueError("stored score sketch does not match the reference's classes")
        return sketch


def sketch_of(calibrated: np.ndarray) -> ScoreSketch:
    sketch = ScoreSketch.empty(calibrated.shape[1])
    sketch.add(calibrated)
    return sketch


def estimate(sketch: ScoreSketch) -> dict[str, float | None]:
    """The metrics of the expected confusion matrix (binary: the second class is the
    positive one, as scikit-learn's; more classes: one-vs-rest, macro)."""
    rows = sketch.rows
    if rows == 0:
        return dict.fromkeys(METRICS)
    tp = sketch.predicted_psum
    fp = sketch.predicted - tp
    positives = sketch.psum.sum(axis=1)
    fn = positives - tp
    per_class = range(sketch.count.shape[0])
    precision = [_ratio(tp[k], tp[k] + fp[k]) for k in per_class]
    recall = [_ratio(tp[k], tp[k] + fn[k]) for k in per_class]
    f1 = [_ratio(2 * tp[k], 2 * tp[k] + fp[k] + fn[k]) for k in per_class]
    auc = [_binned_auc(sketch.psum[k], sketch.count[k] - sketch.psum[k]) for k in per_class]
    pick = (lambda v: v[1]) if len(precision) == 2 else _mean
    return {
        "accuracy": float(tp.sum() / rows),
        "precision": pick(precision),
        "recall": pick(recall),
        "f1": pick(f1),
        "roc_auc": pick(auc),
    }


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else 0.0


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(sum(present) / len(present)) if present else None


def _binned_auc(positive: np.ndarray, negative: np.ndarray) -> float | None:
    """P(a positive scores above a negative), ties within a bin counted half."""
    p_total, n_total = float(positive.sum()), float(negative.sum())
    if p_total <= 0 or n_total <= 0:
        return None
    below = np.concatenate(([0.0], np.cumsum(negative)[:-1]))
    return float((positive * (below + 0.5 * negative)).sum() / (p_total * n_total))


# -- what a window's estimate says -------------------------------------------------------


def interval(reference: Mapping[str, Any], metric: str, rows: int) -> float | None:
    """Half-width of the interval for ``rows`` rows: the spread of the metric over reference
    chunks of the nearest size, scaled by √(size / rows) between sizes."""
    spreads = reference.get("spread", {}).get(metric)
    if not spreads or rows <= 0:
        return None
    sizes = [int(s) for s in reference["chunk_sizes"]]
    nearest = min(range(len(sizes)), key=lambda i: abs(math.log(sizes[i] / rows)))
    if spreads[nearest] is None:
        return None
    return float(Z * spreads[nearest] * math.sqrt(sizes[nearest] / rows))


def estimated(
    reference: Mapping[str, Any], sketch: ScoreSketch | None, realized: Quality
) -> Estimate | None:
    """The period's estimate with intervals, beside the holdout's and the realized values."""
    if sketch is None or reference.get("kind") != "classification":
        return None
    rows = sketch.rows
    values = estimate(sketch)
    on_holdout = reference.get("estimated", {})
    metrics = {}
    for name in METRICS:
        value = values[name]
        half = interval(reference, name, rows) if value is not None else None
        metrics[name] = EstimatedMetric(
            value=value,
            low=max(0.0, value - half) if value is not None and half is not None else None,
            high=min(1.0, value + half) if value is not None and half is not None else None,
            reference=on_holdout.get(name),
            realized=realized.metric(name),
        )
    return Estimate(
        method="cbpe",
        rows=rows,
        calibrated=bool(reference.get("calibration")),
        metrics=metrics,
    )


# -- fitting at registration (scikit-learn) ----------------------------------------------


def fit_reference(proba: np.ndarray, truth: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """The reference a classifier's estimates need, from holdout probabilities (columns in
    ``classes`` order) and true class indices; JSON-safe."""
    proba = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    truth = np.asarray(truth, dtype=int)
    columns = [1] if proba.shape[1] == 2 else list(range(proba.shape[1]))
    calibration: list[Any] = [None] * proba.shape[1]
    ece_before: dict[str, float] = {}
    ece_after: dict[str, float] = {}
    for k in columns:
        hit = (truth == k).astype(float)
        before, after, curve = _calibration(proba[:, k], hit)
        ece_before[str(classes[k])], ece_after[str(classes[k])] = before, after
        if curve is not None and after < before:
            calibration[k] = curve
    if proba.shape[1] == 2 and calibration[1] is not None:  # the negative mirrors it
        curve = calibration[1]
        calibration[0] = {
            "x": [1 - x for x in curve["x"][::-1]],
            "y": [1 - y for y in curve["y"][::-1]],
        }
    calibrated = calibrate(proba, calibration if any(calibration) else None)
    realized = realized_metrics(calibrated, truth)
    sizes, spread = _spread(calibrated, truth)
    return {
        "kind": "classification",
        "method": "cbpe",
        "classes": [str(c) for c in classes],
        "rows": int(truth.size),
        "calibration": calibration if any(c is not None for c in calibration) else None,
        "ece": {"raw": ece_before, "calibrated": ece_after},
        "realized": realized,
        "estimated": estimate(sketch_of(calibrated)),
        "chunk_sizes": sizes,
        "spread": spread,
    }


def _calibration(p: np.ndarray, hit: np.ndarray) -> tuple[float, float, dict[str, Any] | None]:
    """ECE of the raw scores and of isotonic calibration fitted on the other folds."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.model_selection import KFold

    before = expected_calibration_error(p, hit)
    if hit.min() == hit.max() or p.size < 2 * FOLDS:
        return before, before, None
    out_of_fold = np.empty_like(p)
    for train, test in KFold(FOLDS, shuffle=True, random_state=SEED).split(p):
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        out_of_fold[test] = iso.fit(p[train], hit[train]).predict(p[test])
    after = expected_calibration_error(out_of_fold, hit)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, hit)
    curve = {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
    return before, after, curve


def realized_metrics(proba: np.ndarray, truth: np.ndarray) -> dict[str, float | None]:
    """The metrics measured against the labels (predictions: the most probable class)."""
    from sklearn import metrics

    classes = proba.shape[1]
    predicted = proba.argmax(axis=1)
    labels = list(range(classes))
    options: dict[str, Any] = (
        {"average": "binary", "pos_label": 1}
        if classes == 2
        else {"average": "macro", "labels": labels}
    )
    options["zero_division"] = 0
    auc: float | None = None
    if len(np.unique(truth)) == classes:
        auc = float(
            metrics.roc_auc_score(truth, proba[:, 1])
            if classes == 2
            else metrics.roc_auc_score(truth, proba, multi_class="ovr", labels=labels)
        )
    return {
        "accuracy": float(metrics.accuracy_score(truth, predicted)),
        "precision": float(metrics.precision_score(truth, predicted, **options)),
        "recall": float(metrics.recall_score(truth, predicted, **options)),
        "f1": float(metrics.f1_score(truth, predicted, **options)),
        "roc_auc": auc,
    }


def _spread(
    proba: np.ndarray, truth: np.ndarray
) -> tuple[list[int], dict[str, list[float | None]]]:
    """Standard deviation of each realized metric over bootstrap chunks per chunk size."""
    rng = np.random.default_rng(SEED)
    sizes = [s for s in CHUNK_SIZES if s <= truth.size] or [int(truth.size)]
    spread: dict[str, list[float | None]] = {m: [] for m in METRICS}
    for size in sizes:
        values: dict[str, list[float]] = {m: [] for m in METRICS}
        for _ in range(BOOTSTRAPS):
            pick = rng.integers(0, truth.size, size)
            for name, value in realized_metrics(proba[pick], truth[pick]).items():
                if value is not None:
                    values[name].append(value)
        for name in METRICS:
            spread[name].append(float(np.std(values[name])) if len(values[name]) > 1 else None)
    return sizes, spread
