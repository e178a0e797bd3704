"""Reference profiles: the binned picture of training data that live traffic is compared to.

Numeric features get quantile bin edges (so each bin holds about the same share of the
reference) and counts; categorical ones get category frequencies (open ones are marked, so
their unseen share is reported); text gets the binned distribution of its lengths in
characters, and its missing count. Live traffic is later
counted into the *same* bins, which makes drift tests work on mergeable counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from modelyard.domain.kinds import OPEN, TENSOR, TEXT
from modelyard.monitoring.sketch import bin_counts, quantile_edges, sorted_finite, text_lengths

if TYPE_CHECKING:  # the streamed drift gate profiles from Arrow arrays, without pandas
    import pandas as pd

    from modelyard.domain.signature import Signature


def numeric_profile(values: np.ndarray, bins: int) -> dict[str, Any]:
    ordered, missing = sorted_finite(values)
    return numeric_profile_sorted(ordered, missing, bins)


def numeric_profile_sorted(ordered: np.ndarray, missing: int, bins: int) -> dict[str, Any]:
    if ordered.size == 0:
        return {"type": "numeric", "count": 0, "missing": missing, "edges": [], "counts": []}
    edges = quantile_edges(ordered, bins)
    counts, _, _ = bin_counts(ordered, edges)
    return {
        "type": "numeric",
        "count": int(ordered.size),
        "missing": missing,
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "mean": float(ordered.mean()),
        "std": float(ordered.std()),
        "min": float(ordered[0]),
        "max": float(ordered[-1]),
    }


def text_profile(values: pd.Series, bins: int) -> dict[str, Any]:
    """Lengths of the text in characters, binned like a numeric feature (missing apart)."""
    profile = numeric_profile(text_lengths(values), bins)
    return {**profile, "type": "text"}


def categorical_profile(values: pd.Series) -> dict[str, Any]:
    frequencies = category_frequencies(values)
    present = sum(frequencies.values())
    return {
        "type": "categorical",
        "count": present,
        "missing": int(values.size - present),
        "frequencies": frequencies,
    }


def category_frequencies(values: pd.Series) -> dict[str, int]:
    """Counts per category as text, most frequent first (counted before the conversion to
    text, which is the slow part on a big column)."""
    frequencies: dict[str, int] = {}
    for value, count in values.value_counts(dropna=True).items():
        key = str(value)
        frequencies[key] = frequencies.get(key, 0) + int(count)
    return frequencies


def build_profile(
    frame: pd.DataFrame, signature: Signature, predictions: np.ndarray | None, bins: int
) -> dict[str, Any]:
    import pandas as pd

    from modelyard.domain.signature import to_plain

    features: dict[str, Any] = {}
    for spec in signature.inputs:
        if spec.kind == TENSOR:  # not profiled: drift is watched on the output
            continue
        column = frame[spec.name]
        if spec.numeric:
            features[spec.name] = numeric_profile(
                pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan),
                bins,
            )
        elif spec.kind == TEXT:
            features[spec.name] = text_profile(column, bins)
        else:
            features[spec.name] = categorical_profile(column)
            if spec.kind == OPEN:
                features[spec.name]["open"] = True
    output: dict[str, Any] | None = None
    if predictions is not None:
        if signature.output.kind == "classification":
            labels, counts = np.unique(np.asarray(predictions), return_counts=True)
            output = {
                "type": "categorical",
                "count": int(counts.sum()),
                "missing": 0,
                "frequencies": {
                    str(to_plain(k)): int(v) for k, v in zip(labels, counts, strict=True)
                },
            }
        elif np.asarray(predictions).ndim == 1:
            output = numeric_profile(np.asarray(predictions, dtype=float), bins)
    return {"rows": int(frame.shape[0]), "bins": bins, "features": features, "output": output}
