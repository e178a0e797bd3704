"""A/B metrics: what one prediction (and its actual, when labelled) counts as in a test.

Every metric reduces each prediction to one outcome — a 0/1 for rates, a number for
continuous metrics — which ``modelyard.control.experiment`` then compares between arms.
Stored tests name metrics, never functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from modelyard.errors import InvalidInput

RATE = "rate"
CONTINUOUS = "continuous"

Outcome = Callable[[np.ndarray, np.ndarray | None], np.ndarray]


@dataclass(frozen=True)
class ABMetric:
    """What one prediction (and its actual, when labelled) counts as in an A/B test."""

    name: str
    kind: str  # rate | continuous
    higher_is_better: bool
    needs_labels: bool
    outcome: Outcome  # (predictions, actuals) of one arm → one outcome per prediction

    @property
    def description(self) -> str:
        return (self.outcome.__doc__ or self.name).strip()


# -- labels and numbers -------------------------------------------------------------------


def _as_array(values: npt.ArrayLike, field: str) -> np.ndarray:
    """One value per prediction; a mixed list keeps its Python types (no "True" from numpy)."""
    if isinstance(values, np.ndarray):
        array = values
    else:
        try:
            items = list(values)  # type: ignore[arg-type]
            array = np.asarray(items)
            if array.dtype.kind not in "biuf":
                array = np.empty(len(items), dtype=object)
                array[:] = items
        except (TypeError, ValueError):
            raise InvalidInput(f"{field} must be a list with one value per prediction") from None
    if array.ndim != 1:
        raise InvalidInput(f"{field} must be one value per prediction (got shape {array.shape})")
    return array


def _label_key(value: Any, field: str, index: int) -> object:
    """1, 1.0, True and "1" give the same key; other text is its own label."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return value
    elif value is None:
        raise InvalidInput(f"{field}[{index}] is missing")
    else:
        raise InvalidInput(f"{field}[{index}] is not a label (a number, text or boolean)")
    if not math.isfinite(number):
        raise InvalidInput(f"{field}[{index}] is not a finite number ({value!r})")
    return int(number) if number.is_integer() else number


def _labels(values: np.ndarray, field: str) -> np.ndarray:
    if values.dtype.kind in "biu":
        return values
    if values.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise InvalidInput(f"{field}[{bad[0]}] is not a finite number ({values[bad[0]]})")
        return values
    keys = np.empty(len(values), dtype=object)
    keys[:] = [_label_key(v, field, i) for i, v in enumerate(values.tolist())]
    return keys


def _same(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if object not in (left.dtype, right.dtype):
        return np.asarray(left == right, dtype=float)
    return np.array([x == y for x, y in zip(left.tolist(), right.tolist(), strict=True)], float)


def _numbers(values: np.ndarray, field: str, metric: str) -> np.ndarray:
    try:
        numbers = values.astype(float)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be numbers for metric {metric!r}") from None
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size and values[bad[0]] is None:
        raise InvalidInput(f"{field}[{bad[0]}] is missing")
    if bad.size:
        raise InvalidInput(f"{field}[{bad[0]}] is not a finite number ({numbers[bad[0]]})")
    return numbers


# -- the registry -------------------------------------------------------------------------


def _accuracy(predictions: np.ndarray, actuals: np.ndarray | None) -> np.ndarray:
    """1 when the predicted label is the actual one."""
    assert actuals is not None
    return _same(_labels(predictions, "predictions"), _labels(actuals, "actuals"))


def _error_rate(predictions: np.ndarray, actuals: np.ndarray | None) -> np.ndarray:
    """1 when the predicted label is not the actual one."""
    return 1.0 - _accuracy(predictions, actuals)


def _positive_rate(predictions: np.ndarray, actuals: np.ndarray | None) -> np.ndarray:
    """1 when the prediction is the positive class (1, 1.0, "1" or True); needs no labels."""
    keys = _labels(predictions, "predictions")
    return _same(keys, np.ones(len(keys), dtype=int))


def _absolute_error(predictions: np.ndarray, actuals: np.ndarray | None) -> np.ndarray:
    """|prediction − actual|."""
    assert actuals is not None
    residual = _numbers(predictions, "predictions", "mae") - _numbers(actuals, "actuals", "mae")
    return np.asarray(np.abs(residual))


def _squared_error(predictions: np.ndarray, actuals: np.ndarray | None) -> np.ndarray:
    """(prediction − actual)²."""
    assert actuals is not None
    name = "squared_error"
    residual = _numbers(predictions, "predictions", name) - _numbers(actuals, "actuals", name)
    return np.asarray(residual**2)


def _prediction(predictions: np.ndarray, actuals: np.ndarray | None) -> np.ndarray:
    """The predicted value itself (for example a score or a price); needs no labels."""
    return _numbers(predictions, "predictions", "prediction")


METRICS: Mapping[str, ABMetric] = MappingProxyType(
    {
        m.name: m
        for m in (
            # name, kind, higher_is_better, needs_labels, outcome
            ABMetric("accuracy", RATE, True, True, _accuracy),
            ABMetric("error_rate", RATE, False, True, _error_rate),
            ABMetric("positive_rate", RATE, True, False, _positive_rate),
            ABMetric("mae", CONTINUOUS, False, True, _absolute_error),
            ABMetric("squared_error", CONTINUOUS, False, True, _squared_error),
            ABMetric("prediction", CONTINUOUS, True, False, _prediction),
        )
    }
)


def get_metric(name: str) -> ABMetric:
    """The metric registered under ``name``; stored tests name metrics, never functions."""
    try:
        return METRICS[name]
    except KeyError:
        known = ", ".join(sorted(METRICS))
        raise InvalidInput(f"unknown A/B metric {name!r} (known: {known})") from None


def outcomes(
    metric: str, predictions: npt.ArrayLike, actuals: npt.ArrayLike | None = None
) -> np.ndarray:
    """One arm's per-prediction outcomes for ``metric`` (0/1 floats for rates)."""
    spec = get_metric(metric)
    predicted = _as_array(predictions, "predictions")
    if actuals is None:
        if spec.needs_labels:
            raise InvalidInput(f"actuals are required for metric {metric!r}")
        return spec.outcome(predicted, None)
    actual = _as_array(actuals, "actuals")
    if len(actual) != len(predicted):
        raise InvalidInput(
            f"predictions and actuals differ in length ({len(predicted)} vs {len(actual)})"
        )
    return spec.outcome(predicted, actual if spec.needs_labels else None)
