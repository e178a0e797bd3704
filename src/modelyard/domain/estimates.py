"""Performance over a period estimated without labels, its intervals, and what the
estimate assumes (a part of the monitor summary, ``domain/monitor_results.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# What an estimate assumes (``Estimate.assumptions``): the middle one is the version's own.
ASSUMPTIONS = (
    "only the inputs shifted: P(label | inputs) is what it was on the holdout",
    "the interval is the metric's spread over holdout chunks of this many rows",
)
BASIS = {  # method, calibrated → what the estimate stands on
    ("cbpe", True): "the scores, calibrated (isotonic) on the holdout, are class probabilities",
    ("cbpe", False): "the raw scores are class probabilities (calibrating did not help)",
    ("dle", False): "a nanny model trained on the holdout's errors predicts each row's error",
}


@dataclass(frozen=True)
class EstimatedMetric:
    """One metric estimated from probabilities alone, its interval, the same estimate on
    the holdout (the reference) and, when labels arrived, the realized value beside it."""

    value: float | None
    low: float | None
    high: float | None
    reference: float | None
    realized: float | None = None

    def to_json(self) -> dict[str, float | None]:
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "reference": self.reference,
            "realized": self.realized,
        }


@dataclass(frozen=True)
class Estimate:
    """Performance over the period estimated without labels: a classifier's by CBPE
    (``method`` "cbpe"), a regressor's MAE and RMSE by direct loss estimation ("dle")."""

    method: str
    rows: int  # rows whose probabilities were counted
    calibrated: bool  # isotonic calibration was applied (it lowered the holdout's error)
    metrics: Mapping[str, EstimatedMetric]

    def value(self, name: str) -> float | None:
        metric = self.metrics.get(name)
        return metric.value if metric is not None else None

    def assumptions(self) -> tuple[str, ...]:  # true to the method and its calibration
        basis = BASIS.get((self.method, self.calibrated and self.method == "cbpe"))
        return (ASSUMPTIONS[0], *([basis] if basis else []), ASSUMPTIONS[1])

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "rows": self.rows,
            "calibrated": self.calibrated,
            "assumptions": list(self.assumptions()),
            "metrics": {name: m.to_json() for name, m in self.metrics.items()},
        }
