"""Reference profiles: the binned picture of training data that live traffic is compared to.

Numeric features get quantile bin edges (so each bin holds about the same share of the
reference) and counts; categorical ones get category frequencies. Live traffic is later
counted into the *same* bins, which makes drift tests work on mergeable counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.signature import Signature, to_plain


def numeric_profile(values: np.ndarray, bins: int) -> dict[str, Any]:
    values = np.asarray(values, dtype=float)
    missing = int(np.isnan(values).sum())
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"type": "numeric", "count": 0, "missing": missing, "edges": [], "counts": []}
    edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)))
    if edges.size == 1:  # a constant feature: one degenerate bin
        edges = np.array([edges[0], edges[0]])
    counts = np.histogram(finite, bins=edges)[0] if edges[0] != edges[-1] else [finite.size]
    return {
        "type": "numeric",
        "count": int(finite.size),
        "missing": missing,
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "mean": float(finite.mean()),
        "std": float(finite.std()),
        "min": float(finite.min()),
        "max": float(finite.max()),
    }


def categorical_profile(values: pd.Series) -> dict[str, Any]:
    present = values.dropna().astype(str)
    frequencies = present.value_counts()
    return {
        "type": "categorical",
        "count": int(present.size),
        "missing": int(values.size - present.size),
        "frequencies": {str(k): int(v) for k, v in frequencies.items()},
    }


def build_profile(
    frame: pd.DataFrame, signature: Signature, predictions: np.ndarray | None, bins: int
) -> dict[str, Any]:
    features: dict[str, Any] = {}
    for spec in signature.inputs:
        column = frame[spec.name]
        if spec.numeric:
            features[spec.name] = numeric_profile(
                pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan),
                bins,
            )
        else:
            features[spec.name] = categorical_profile(column)
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
