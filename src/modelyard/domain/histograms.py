"""A feature's reference and current counts in the reference's bins: what the report
draws as histograms (``summarize(…, histograms=True)``); ``to_json()`` is what the HTTP
API and ``monitor report --format json`` write."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NumericHistogram:
    """A numeric feature's reference and current counts in the reference's quantile bins
    (one more edge than bins; no edges when the reference had no values). Current values
    outside the reference's range are counted ``below`` and ``above``, not in a bin."""

    edges: tuple[float, ...]
    reference: tuple[int, ...]
    current: tuple[int, ...]
    below: int
    above: int
    missing: int

    def __post_init__(self) -> None:
        bins = len(self.reference)
        if len(self.current) != bins or max(len(self.edges) - 1, 0) != bins:
            raise ValueError("a histogram needs one count per bin and one more edge than bins")

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "numeric",
            "edges": list(self.edges),
            "reference": list(self.reference),
            "current": list(self.current),
            "below": self.below,
            "above": self.above,
            "missing": self.missing,
        }


@dataclass(frozen=True)
class CategoricalHistogram:
    """A categorical feature's reference and current counts per reference category;
    current values of other categories are ``unseen`` (the first ones kept by name)."""

    categories: tuple[str, ...]
    reference: tuple[int, ...]
    current: tuple[int, ...]
    unseen: int
    unseen_values: Mapping[str, int]
    missing: int

    def __post_init__(self) -> None:
        if not len(self.categories) == len(self.reference) == len(self.current):
            raise ValueError("a histogram needs a reference and a current count per category")

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "categorical",
            "categories": list(self.categories),
            "reference": list(self.reference),
            "current": list(self.current),
            "unseen": self.unseen,
            "unseen_values": dict(self.unseen_values),
            "missing": self.missing,
        }


Histogram = NumericHistogram | CategoricalHistogram
