"""Regressor performance estimated without labels (direct loss estimation, DLE).

At registration a small gradient-boosting "nanny" model learns, on the labelled holdout,
the absolute and the squared error of the model from its numeric inputs and its prediction.
Live, the recorder runs the nanny on each batch and a window keeps the sums of the
estimated losses, so MAE and RMSE merge like every other sketch; the interval comes from
the realized metrics' spread over holdout chunks of the nearest size, as for classifiers.
The nanny is stored as a skops file of the version (hash-verified like every blob) and,
once loaded, evaluated as lookup tables (``tree_tables``): the same numbers, about 5x
sooner than scikit-learn walking the trees on a 2,000-row window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelyard.domain.estimates import Estimate, EstimatedMetric
from modelyard.domain.monitor_results import Quality
from modelyard.monitoring.estimation import BOOTSTRAPS, CHUNK_SIZES, SEED, interval
from modelyard.monitoring.tree_tables import fast_predictor

NANNY_FILE = "estimation/nanny.skops"
LOSS_METRICS = ("mae", "rmse")
# Few trees at a high learning rate (early stopping, on by default past 10,000 holdout rows,
# may stop sooner): per window the cost grows with the trees, and on the estimation bench's
# three draws 30 trees at 0.3 were as close to the truth as 100 at 0.1 or closer
# (docs/decisions.md, 2026-12-05 "DLE nanny").
NANNY_TREES = 30
NANNY_LEARNING_RATE = 0.3


@dataclass
class LossSums:
    """Estimated losses of a window's rows, as sums."""

    rows: int = 0
    abs_sum: float = 0.0
    sq_sum: float = 0.0

    def add(self, losses: np.ndarray) -> None:
        """``losses``: (rows, 2) estimated absolute and squared errors."""
        if losses.ndim != 2 or losses.shape[1] != 2:
            return
        self.rows += int(losses.shape[0])
        self.abs_sum += float(np.clip(losses[:, 0], 0, None).sum())
        self.sq_sum += float(np.clip(losses[:, 1], 0, None).sum())

    def merge(self, other: LossSums) -> None:
        self.rows += other.rows
        self.abs_sum += other.abs_sum
        self.sq_sum += other.sq_sum

    def values(self) -> dict[str, float | None]:
        if not self.rows:
            return dict.fromkeys(LOSS_METRICS)
        return {"mae": self.abs_sum / self.rows, "rmse": math.sqrt(self.sq_sum / self.rows)}

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "abs_sum": self.abs_sum, "sq_sum": self.sq_sum}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LossSums:
        return cls(int(data["rows"]), float(data["abs_sum"]), float(data["sq_sum"]))


def nanny_inputs(columns: Mapping[str, Any], names: Sequence[str], predictions: Any) -> np.ndarray:
    """The nanny's matrix: the numeric inputs it was trained on, then the prediction."""
    parts = [np.asarray(columns[n], dtype=float) for n in names]
    parts.append(np.asarray(predictions, dtype=float).reshape(-1))
    return np.column_stack(parts)


def estimated_losses(
    reference: Mapping[str, Any], sums: LossSums | None, realized: Quality
) -> Estimate | None:
    if sums is None or reference.get("kind") != "regression":
        return None
    values = sums.values()
    on_holdout = reference.get("estimated", {})
    metrics = {}
    for name in LOSS_METRICS:
        value = values[name]
        half = interval(reference, name, sums.rows) if value is not None else None
        metrics[name] = EstimatedMetric(
            value=value,
            low=max(0.0, value - half) if value is not None and half is not None else None,
            high=value + half if value is not None and half is not None else None,
            reference=on_holdout.get(name),
            realized=realized.metric(name),
        )
    return Estimate(method="dle", rows=sums.rows, calibrated=False, metrics=metrics)


def fit_nanny(matrix: np.ndarray, errors: np.ndarray) -> tuple[Any, dict[str, Any]]:
    """The nanny (absolute and squared error from inputs + prediction) and the reference:
    realized and estimated MAE/RMSE on the holdout, and their spread over chunks."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.multioutput import MultiOutputRegressor

    targets = np.column_stack([np.abs(errors), errors**2])
    nanny = MultiOutputRegressor(
        HistGradientBoostingRegressor(
            max_iter=NANNY_TREES, learning_rate=NANNY_LEARNING_RATE, random_state=SEED
        )
    )
    nanny.fit(matrix, targets)
    guessed = LossSums()
    guessed.add(np.asarray(fast_predictor(nanny).predict(matrix)))
    rng = np.random.default_rng(SEED)
    sizes = [s for s in CHUNK_SIZES if s <= errors.size] or [int(errors.size)]
    spread: dict[str, list[float | None]] = {m: [] for m in LOSS_METRICS}
    for size in sizes:
        picks = rng.integers(0, errors.size, (BOOTSTRAPS, size))
        chunks = errors[picks]
        spread["mae"].append(float(np.abs(chunks).mean(axis=1).std()))
        spread["rmse"].append(float(np.sqrt((chunks**2).mean(axis=1)).std()))
    return nanny, {
        "kind": "regression",
        "method": "dle",
        "rows": int(errors.size),
        "realized": {
            "mae": float(np.abs(errors).mean()),
            "rmse": float(np.sqrt((errors**2).mean())),
        },
        "estimated": guessed.values(),
        "chunk_sizes": sizes,
        "spread": spread,
    }
