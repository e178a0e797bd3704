"""Mergeable sketches: live values counted into the reference profile's bins.

A sketch is plain counts, so two of them merge by addition (across workers, replicas and
time buckets) and its size depends on the number of bins, never on the traffic. Numeric
features keep a count per reference quantile bin plus missing, below-range and above-range
counts (with the extreme values seen out of range, which bound the Wasserstein integral);
categorical features keep a count per category, with unseen categories counted apart;
text keeps the counts of its lengths in the reference's length bins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

UNSEEN_VALUES_KEPT = 20  # distinct unseen categories remembered by name (the rest: counted)


@dataclass
class NumericCounts:
    """Counts of one numeric column in fixed bins ``edges`` (np.histogram's convention:
    ``[e_i, e_i+1)``, the last bin closed)."""

    edges: np.ndarray
    counts: np.ndarray
    missing: int = 0
    low: int = 0
    high: int = 0
    low_min: float | None = None
    high_max: float | None = None

    @classmethod
    def empty(cls, edges: Sequence[float] | np.ndarray) -> NumericCounts:
        array = np.asarray(edges, dtype=float)  # no copy when given an array of floats
        return cls(array, np.zeros(max(array.size - 1, 0), dtype=np.int64))

    @property
    def total(self) -> int:
        """Non-missing values, in range or not."""
        return int(self.counts.sum()) + self.low + self.high

    def add(self, values: np.ndarray) -> None:
        self.add_sorted(*sorted_finite(values))

    def add_sorted(self, ordered: np.ndarray, missing: int) -> None:
        """Count values already sorted (sorting then reading the edges' positions is
        several times faster than looking each value's bin up)."""
        self.missing += missing
        if ordered.size == 0:
            return
        if self.edges.size < 2:  # the reference had no finite values: all out of range
            self._out_of_range(ordered, high=True)
            return
        counts, low, high = bin_counts(ordered, self.edges)
        self.counts += counts
        if low:
            self._out_of_range(ordered[:low], high=False)
        if high:
            self._out_of_range(ordered[ordered.size - high :], high=True)

    def _out_of_range(self, values: np.ndarray, high: bool) -> None:
        if values.size == 0:
            return
        if high:
            self.high += int(values.size)
            top = float(values.max())
            self.high_max = top if self.high_max is None else max(self.high_max, top)
        else:
            self.low += int(values.size)
            bottom = float(values.min())
            self.low_min = bottom if self.low_min is None else min(self.low_min, bottom)

    def merge(self, other: NumericCounts) -> None:
        if self.edges is not other.edges and not np.array_equal(self.edges, other.edges):
            raise ValueError("numeric sketches with different bins cannot be merged")
        self.counts += other.counts
        self.missing += other.missing
        self.low += other.low
        self.high += other.high
        self.low_min = _pick(min, self.low_min, other.low_min)
        self.high_max = _pick(max, self.high_max, other.high_max)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "numeric",
            "counts": self.counts.tolist(),
            "missing": self.missing,
            "low": self.low,
            "high": self.high,
            "low_min": self.low_min,
            "high_max": self.high_max,
        }

    @classmethod
    def from_json(
        cls, edges: Sequence[float] | np.ndarray, data: Mapping[str, Any]
    ) -> NumericCounts:
        array = np.asarray(edges, dtype=float)
        counts = np.asarray(data["counts"], dtype=np.int64)
        if counts.shape != (max(array.size - 1, 0),):
            raise ValueError("stored sketch does not match the profile's bins")
        return cls(
            array,
            counts,
            int(data["missing"]),
            int(data["low"]),
            int(data["high"]),
            data.get("low_min"),
            data.get("high_max"),
        )


class TextLengths(NumericCounts):
    """A text feature: its values' lengths in characters, counted like a numeric feature."""

    def add(self, values: np.ndarray) -> None:
        super().add(text_lengths(values))

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "type": "text"}


@dataclass
class CategoryCounts:
    """Counts per reference category; anything else is ``unseen``."""

    known: frozenset[str]
    counts: dict[str, int] = field(default_factory=dict)
    unseen: int = 0
    unseen_values: dict[str, int] = field(default_factory=dict)
    missing: int = 0
    keep_values: bool = True  # remember unseen categories by name (capped)

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + self.unseen

    def add(self, values: Any) -> None:
        import pandas as pd  # here: reading stored sketches (monitor status) needs no pandas

        series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
        frequencies = series.value_counts(dropna=True)
        self.missing += int(series.size - frequencies.sum())
        for value, count in frequencies.items():
            self.add_count(str(value), int(count))

    def add_count(self, value: str, count: int) -> None:
        if value in self.known:
            self.counts[value] = self.counts.get(value, 0) + count
            return
        self.unseen += count
        if not self.keep_values:
            return
        if value in self.unseen_values or len(self.unseen_values) < UNSEEN_VALUES_KEPT:
            self.unseen_values[value] = self.unseen_values.get(value, 0) + count

    def merge(self, other: CategoryCounts) -> None:
        for value, count in other.counts.items():
            self.counts[value] = self.counts.get(value, 0) + count
        self.unseen += other.unseen
        for value, count in other.unseen_values.items():
            if value in self.unseen_values or len(self.unseen_values) < UNSEEN_VALUES_KEPT:
                self.unseen_values[value] = self.unseen_values.get(value, 0) + count
        self.missing += other.missing

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "categorical",
            "counts": dict(self.counts),
            "unseen": self.unseen,
            "unseen_values": dict(self.unseen_values),
            "missing": self.missing,
        }

    @classmethod
    def from_json(cls, known: frozenset[str], data: Mapping[str, Any]) -> CategoryCounts:
        return cls(
            known,
            {str(k): int(v) for k, v in data["counts"].items()},
            int(data["unseen"]),
            {str(k): int(v) for k, v in data.get("unseen_values", {}).items()},
            int(data["missing"]),
        )


Counts = NumericCounts | CategoryCounts


def counts_for(profile: Mapping[str, Any], keep_values: bool = True) -> Counts:
    """An empty sketch in the bins of one feature's (or the output's) reference profile."""
    if profile["type"] == "numeric":
        return NumericCounts.empty(profile["edges"])
    if profile["type"] == "text":
        return TextLengths.empty(profile["edges"])
    return CategoryCounts(frozenset(profile["frequencies"]), keep_values=keep_values)


def counts_from_json(profile: Mapping[str, Any], data: Mapping[str, Any]) -> Counts:
    if profile["type"] == "numeric":
        return NumericCounts.from_json(profile["edges"], data)
    if profile["type"] == "text":
        return TextLengths.from_json(profile["edges"], data)
    return CategoryCounts.from_json(frozenset(profile["frequencies"]), data)


def text_lengths(values: Any) -> np.ndarray:
    """Characters per value; NaN for anything that is not a string (counted as missing)."""
    import pandas as pd

    array = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    return np.fromiter(
        (len(v) if isinstance(v, str) else np.nan for v in array), dtype=float, count=len(array)
    )


def sorted_finite(values: Any) -> tuple[np.ndarray, int]:
    """Finite values sorted, and how many were missing (NaN, None or infinite)."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):  # pd.NA, text in a numeric column: not a number
        import pandas as pd

        array = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
    finite = np.isfinite(array)
    missing = int(array.size - np.count_nonzero(finite))
    return np.sort(array[finite] if missing else array), missing


def quantile_edges(ordered: np.ndarray, bins: int) -> np.ndarray:
    """Bin edges for sorted values: distinct quantiles (numpy's default 'linear' method),
    or, when there are no more distinct values than bins (flags, counts, ratings), one bin
    per value — otherwise the closed last bin would hold the two largest values together
    and a 0/1 feature would have a single bin, blind to any shift."""
    change = np.empty(ordered.size, dtype=bool)
    change[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=change[1:])
    if int(np.count_nonzero(change)) <= bins:
        distinct = ordered[change]
        return np.append(distinct, np.nextafter(distinct[-1], np.inf))
    position = np.linspace(0.0, 1.0, bins + 1) * (ordered.size - 1)
    lower = np.floor(position).astype(np.intp)
    upper = np.minimum(lower + 1, ordered.size - 1)
    fraction = position - lower
    low, high = ordered[lower], ordered[upper]
    # numpy's lerp: from the nearer end, so the edges equal np.quantile's to the last bit
    edges = np.where(
        fraction >= 0.5, high - (high - low) * (1 - fraction), low + (high - low) * fraction
    )
    return np.unique(edges)


def bin_counts(ordered: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Counts of sorted values per bin ``[e_i, e_i+1)`` (the last bin closed, as
    ``np.histogram``), and how many fall below and above the edges."""
    starts = np.searchsorted(ordered, edges, side="left")
    end = int(np.searchsorted(ordered, edges[-1], side="right"))
    bounds = np.append(starts[:-1], end)
    counts = np.diff(bounds).astype(np.int64)
    return counts, int(starts[0]), int(ordered.size - end)


def _pick(choose: Any, a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return float(choose(a, b))
