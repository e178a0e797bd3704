"""Data-quality signals and per-class quality, as typed values, and the condition metrics
they add: ``missing_share[age]>0.1``, ``out_of_range_share>0.05`` (any feature),
``unseen_share[plan]>0.2``, ``refused_share[unseen_category]>0.01``,
``recall[class=churn]<0.6``.

A metric name in brackets names one feature, one refusal rule or (``class=``) one class;
the same name without brackets is the worst feature's share (data quality) or every rule
together (refusals). Per-class metrics always name their class: unbracketed ``recall`` is
the macro (or binary) recall of the live quality already.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modelyard.domain.refusal_rules import RULES

SHARE_METRICS: dict[str, str] = {
    "missing_share": "share of a feature's values that were missing ([feature], or the worst)",
    "out_of_range_share": "share of a numeric feature's values outside the training range "
    "([feature], or the worst)",
    "unseen_share": "share of an open category's values never seen in training "
    "([feature], or the worst)",
    "refused_share": "share of requests refused (4xx) ([rule], or by any rule)",
}
CLASS_METRICS = ("precision", "recall", "f1")
# Classes a report, a gauge or a matrix keeps at most: a regression mistaken for classes
# must not grow a matrix or a series family of thousands.
MAX_CLASSES = 50
MAX_KEY = 100
_KEYED = re.compile(r"^(?P<base>[a-z0-9_]+)\[(?P<key>[^\[\]]*)\]$")


def keyed_metric_problem(metric: str) -> str | None:
    """Why ``metric`` (``base[key]``) is not a metric conditions know, or None when it is."""
    match = _KEYED.match(metric)
    if match is None:
        return f"unknown metric {metric!r}"
    base, key = match["base"], match["key"]
    if not key or len(key) > MAX_KEY or any(c.isspace() for c in key):
        return f"{metric!r}: the name in brackets must be 1 to {MAX_KEY} characters, no spaces"
    if base in CLASS_METRICS:
        if not key.startswith("class=") or key == "class=":
            return f"{metric!r}: per-class metrics name their class, e.g. {base}[class=churn]"
        return None
    if base not in SHARE_METRICS:
        known = ", ".join([*SHARE_METRICS, *(f"{m}[class=NAME]" for m in CLASS_METRICS)])
        return f"{metric!r}: only these metrics take brackets: {known}"
    if base == "refused_share" and key not in RULES:
        return f"{metric!r}: unknown refusal rule {key!r}; one of {', '.join(RULES)}"
    return None


@dataclass(frozen=True)
class ClassQuality:
    label: str
    precision: float
    recall: float
    f1: float
    support: int  # labelled rows of this class

    def to_json(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support,
        }


@dataclass(frozen=True)
class ClassReport:
    """Per-class quality over the labelled predictions of a period, and the confusion
    matrix: ``confusion[i][j]`` rows whose label is ``labels[i]`` predicted ``labels[j]``."""

    labels: tuple[str, ...]
    classes: tuple[ClassQuality, ...]
    confusion: tuple[tuple[int, ...], ...]

    def metrics(self) -> dict[str, float | None]:
        """Each class's precision, recall and F1, and its ``support[class=NAME]`` (its
        labelled rows, which rollout checks wait for, domain/conditions.py)."""
        values: dict[str, float | None] = {}
        for c in self.classes:
            for name in CLASS_METRICS:
                values[f"{name}[class={c.label}]"] = getattr(c, name)
            values[f"support[class={c.label}]"] = float(c.support)
        return values

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "per_class": {c.label: c.to_json() for c in self.classes},
            "confusion_matrix": [list(row) for row in self.confusion],
        }


@dataclass(frozen=True)
class FeatureQuality:
    """One feature's values over a period: every row counted for it, missing ones, and
    (numeric) those outside the training range or (open category) never seen in training.
    The missing share is of all the feature's rows; the out-of-range and unseen shares are
    of the values present (as drift's ``unseen_share``), so a column that goes missing
    does not hide that its remaining values left the training range."""

    feature: str
    kind: str  # numeric | categorical | text
    rows: int
    missing: int
    out_of_range: int | None = None  # numeric only
    unseen: int | None = None  # open categories only

    @staticmethod
    def _share(count: int | None, of: int) -> float | None:
        return count / of if count is not None and of else None

    @property
    def missing_share(self) -> float | None:
        return self._share(self.missing, self.rows)

    @property
    def out_of_range_share(self) -> float | None:
        return self._share(self.out_of_range, self.rows - self.missing)

    @property
    def unseen_share(self) -> float | None:
        return self._share(self.unseen, self.rows - self.missing)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "feature": self.feature,
            "kind": self.kind,
            "rows": self.rows,
            "missing": self.missing,
            "missing_share": self.missing_share,
        }
        if self.out_of_range is not None:
            data["out_of_range"] = self.out_of_range
            data["out_of_range_share"] = self.out_of_range_share
        if self.unseen is not None:
            data["unseen"] = self.unseen
            data["unseen_share"] = self.unseen_share
        return data


@dataclass(frozen=True)
class DataQuality:
    """Per feature shares, and requests refused (4xx) per rule among all ``attempts``."""

    features: tuple[FeatureQuality, ...]
    attempts: int
    refused: Mapping[str, int]

    def refused_share(self, rule: str | None = None) -> float | None:
        if not self.attempts:
            return None
        count = sum(self.refused.values()) if rule is None else self.refused.get(rule, 0)
        return count / self.attempts

    def metrics(self) -> dict[str, float | None]:
        """Condition metric → value; the unbracketed shares are the worst feature's."""
        values: dict[str, float | None] = {}
        for base in ("missing_share", "out_of_range_share", "unseen_share"):
            shares = {f.feature: getattr(f, base) for f in self.features}
            known = [s for s in shares.values() if s is not None]
            values[base] = max(known) if known else None
            values.update((f"{base}[{name}]", share) for name, share in shares.items())
        values["refused_share"] = self.refused_share()
        values.update((f"refused_share[{r}]", self.refused_share(r)) for r in RULES)
        return values

    def headline(self) -> dict[str, float | None]:
        """The unbracketed shares alone: the worst feature's, and refusals by any rule
        (what a timeline point carries)."""
        values = self.metrics()
        return {name: values[name] for name in SHARE_METRICS}

    def worst(self, n: int = 5) -> Sequence[FeatureQuality]:
        """The features with the largest share of missing, out-of-range or unseen values."""

        def badness(f: FeatureQuality) -> float:
            shares = (f.missing_share, f.out_of_range_share, f.unseen_share)
            return max((s for s in shares if s is not None), default=0.0)

        return sorted(self.features, key=badness, reverse=True)[:n]

    def to_json(self) -> dict[str, Any]:
        return {
            "features": [f.to_json() for f in self.features],
            "attempts": self.attempts,
            "refused": dict(self.refused),
            "refused_share": self.refused_share(),
            "refused_shares": {r: self.refused_share(r) for r in self.refused},
        }
