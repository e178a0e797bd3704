"""How a shadow's answer differs from the answer the caller got: plain counts, so they
add up across requests, buckets and replicas."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelyard.runtime.runner import Output

# Two numeric predictions agree when they differ by at most this share of their size
# (at least of 1): float noise between versions is not a disagreement.
RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Comparison:
    rows: int
    agreements: int  # same label, or numbers within the tolerance
    diff_rows: int  # rows with numeric predictions on both sides
    abs_diff: float  # sum of |shadow − primary| over those rows
    proba_rows: int  # rows where both gave probabilities over the same classes
    proba_abs_diff: float  # sum over those rows of the mean |Δ| across classes


def compare_outputs(primary: Output, shadow: Output, same_classes: bool = True) -> Comparison:
    """Compare row by row. For two classes the probability difference is that of the
    positive class (|Δp₀| = |Δp₁|); for more, the mean over classes. ``same_classes``:
    the two versions list the same classes in the same order (else their probability
    columns do not line up and are not compared)."""
    left, right = np.asarray(primary.predictions), np.asarray(shadow.predictions)
    rows = len(left)
    if len(right) != rows:
        raise ValueError(f"the shadow answered {len(right)} rows for {rows}")
    diff_rows, abs_diff = 0, 0.0
    if _numeric(left) and _numeric(right) and left.ndim == right.ndim == 1:
        a, b = left.astype(float), right.astype(float)
        gap = np.abs(b - a)
        scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1.0)
        agreements = int((gap <= RELATIVE_TOLERANCE * scale).sum())
        diff_rows, abs_diff = rows, float(gap.sum())
    else:
        agreements = sum(
            str(x) == str(y) for x, y in zip(left.tolist(), right.tolist(), strict=True)
        )
    proba_rows, proba_abs_diff = 0, 0.0
    p, q = primary.probabilities, shadow.probabilities
    if same_classes and p is not None and q is not None and p.shape == q.shape and p.ndim == 2:
        proba_rows = rows
        proba_abs_diff = float(np.abs(q.astype(float) - p.astype(float)).mean(axis=1).sum())
    return Comparison(rows, agreements, diff_rows, abs_diff, proba_rows, proba_abs_diff)


def _numeric(values: np.ndarray) -> bool:
    return values.dtype.kind in "biuf"
