"""Drift between two tables held in memory (``modelyard drift``): the live tests on raw data.

The reference is profiled into quantile bins, the current table is counted into the same
bins, and the binned tests run on the counts — exactly what the server does with its
sketches. ``exact=True`` replaces the binned KS and Wasserstein values with scipy's on the
raw samples. Columns are processed on a small thread pool: sorting and binary searches
release the interpreter lock.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.monitor_results import DriftReport
from modelyard.domain.monitoring import DriftConfig
from modelyard.errors import InvalidInput
from modelyard.monitoring.drift import compare, exact_numeric
from modelyard.monitoring.profile import categorical_profile, numeric_profile_sorted
from modelyard.monitoring.sketch import CategoryCounts, Counts, NumericCounts, sorted_finite

DEFAULT_BINS = 100


def is_numeric(column: pd.Series) -> bool:
    dtype = column.dtype
    return bool(
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not pd.api.types.is_complex_dtype(dtype)
    )


def drift_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    config: DriftConfig | None = None,
    *,
    exact: bool = False,
    bins: int = DEFAULT_BINS,
    columns: list[str] | None = None,
) -> DriftReport:
    """Per-column drift of ``current`` against ``reference`` and the dataset verdict."""
    config = config or DriftConfig()
    names = _columns(reference, current, columns)
    workers = max(1, min(4, os.cpu_count() or 1, len(names)))

    ref_columns = {str(c): c for c in reference.columns}
    cur_columns = {str(c): c for c in current.columns}

    def one(name: str) -> tuple[str, dict[str, Any], Counts, dict[str, float] | None]:
        return _column(name, reference[ref_columns[name]], current[cur_columns[name]], bins, exact)

    with ThreadPoolExecutor(workers, thread_name_prefix="drift") as pool:
        results = list(pool.map(one, names))
    profile = {"features": {name: spec for name, spec, _, _ in results}, "output": None}
    sketches = {name: sketch for name, _, sketch, _ in results}
    exact_values = {name: values for name, _, _, values in results if values}
    return compare(profile, sketches, None, config, exact_values)


def _column(
    name: str, reference: pd.Series, current: pd.Series, bins: int, exact: bool
) -> tuple[str, dict[str, Any], Counts, dict[str, float] | None]:
    if is_numeric(reference):
        if not is_numeric(current):
            current = _numbers_or_refuse(name, current)
        ref_sorted, ref_missing = sorted_finite(_floats(reference))
        cur_sorted, cur_missing = sorted_finite(_floats(current))
        spec = numeric_profile_sorted(ref_sorted, ref_missing, bins)
        sketch = NumericCounts.empty(spec["edges"])
        sketch.add_sorted(cur_sorted, cur_missing)
        values = exact_numeric(ref_sorted, cur_sorted) if exact else None
        return name, spec, sketch, values
    spec = categorical_profile(reference)
    categories = CategoryCounts(frozenset(spec["frequencies"]))
    categories.add(current)
    return name, spec, categories, None


def _numbers_or_refuse(name: str, column: pd.Series) -> pd.Series:
    """A current column of numbers stored as objects (with None for missing) is numeric."""
    if pd.api.types.is_bool_dtype(column.dtype):
        raise InvalidInput(f"column {name!r}: numeric in the reference, boolean in the current")
    present = column.dropna()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pd.to_numeric(column)
    raise InvalidInput(
        f"column {name!r}: numeric in the reference, {column.dtype} in the current data"
    )


def _floats(column: pd.Series) -> np.ndarray:
    values: np.ndarray = column.to_numpy(dtype=float, na_value=np.nan)
    return values


def _columns(reference: pd.DataFrame, current: pd.DataFrame, wanted: list[str] | None) -> list[str]:
    if reference.shape[0] == 0:
        raise InvalidInput("the reference data has no rows")
    if current.shape[0] == 0:
        raise InvalidInput("the current data has no rows")
    names = [str(c) for c in (wanted or list(reference.columns))]
    for side, frame in (("reference", reference), ("current", current)):
        present = {str(c) for c in frame.columns}
        lacking = [n for n in names if n not in present]
        if lacking:
            shown = ", ".join(repr(n) for n in lacking[:5])
            raise InvalidInput(f"column(s) {shown} missing from the {side} data")
    if len(set(names)) != len(names):
        raise InvalidInput("column names must be unique")
    return names
