"""Segments: an endpoint's traffic split by the value of a few input features.

``--segment-by country --segment-by plan`` makes every monitor window keep counts, quality,
estimates and drift per country and per plan (each feature on its own, not crossed). The
number of segments is bounded whatever the traffic: a categorical feature keeps its ``top``
most frequent reference categories, every other value is ``other`` and a missing one is
``missing``; a numeric feature is cut at its reference quartiles (``q1`` … ``q4``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from modelyard.errors import InvalidInput

MAX_FEATURES = 4  # each segmenting feature multiplies the sketches a window keeps
DEFAULT_TOP = 20
MAX_TOP = 50
OTHER = "other"
MISSING = "missing"
QUARTILES = ("q1", "q2", "q3", "q4")
ANY = "*"
CLASS = "class"  # ``recall[class=churn]`` names a class, so no segment feature may be "class"
# What a condition's segment may look like: ``accuracy[country=FR]``, ``[country=*]``.
_FEATURE = re.compile(r"^[^\[\]=\s][^\[\]=]{0,127}$")
# Lower values are better for these metrics; for the rest higher is (the worst segment of
# ``accuracy`` is its lowest, that of ``drift_share`` its highest).
LOWER_IS_BETTER = frozenset(
    {
        "drift_share",
        "mae",
        "rmse",
        "estimated_mae",
        "estimated_rmse",
    }
)


@dataclass(frozen=True)
class SegmentSpec:
    """Which input features split the monitor, and how many categories each keeps."""

    features: tuple[str, ...] = ()
    top: int = DEFAULT_TOP

    def __post_init__(self) -> None:
        if isinstance(self.features, str) or not isinstance(self.features, Iterable):
            raise InvalidInput("segment_by must be a list of feature names")
        features = tuple(self.features)
        for name in features:
            if not isinstance(name, str) or not _FEATURE.match(name):
                raise InvalidInput(
                    f"segment_by {name!r}: a feature name of 1 to 128 characters "
                    "without '[', ']' or '='"
                )
        if CLASS in features:
            raise InvalidInput(
                f"segment_by {CLASS!r}: reserved for per-class metrics (recall[class=NAME]); "
                "rename the feature"
            )
        if len(set(features)) != len(features):
            raise InvalidInput("segment_by: a feature appears twice")
        if len(features) > MAX_FEATURES:
            raise InvalidInput(f"segment_by: at most {MAX_FEATURES} features, not {len(features)}")
        if (
            isinstance(self.top, bool)
            or not isinstance(self.top, int)
            or not 1 <= self.top <= MAX_TOP
        ):
            raise InvalidInput(f"segment_top must be a whole number from 1 to {MAX_TOP}")
        object.__setattr__(self, "features", features)

    def __bool__(self) -> bool:
        return bool(self.features)

    def spec(self) -> dict[str, Any]:
        return {"features": list(self.features), "top": self.top}

    @classmethod
    def from_spec(cls, spec: Any) -> SegmentSpec:
        if not isinstance(spec, Mapping) or set(spec) - {"features", "top"}:
            raise InvalidInput("monitoring.segments must be an object: {features, top}")
        return cls(tuple(spec.get("features", ())), spec.get("top", DEFAULT_TOP))


def segment_key(metric: str, feature: str, value: str) -> str:
    """How a segment's metric is named among a version's metrics: ``accuracy[country=FR]``."""
    return f"{metric}[{feature}={value}]"


def worst(metric: str, values: Mapping[str, float | None]) -> tuple[str, float] | None:
    """The segment (value) whose ``metric`` is worst, among those with data."""
    known = [(value, number) for value, number in values.items() if number is not None]
    if not known:
        return None
    pick = max if metric in LOWER_IS_BETTER else min
    return pick(known, key=lambda item: item[1])


def segment_values(
    metric: str, feature: str, metrics: Mapping[str, float | None]
) -> dict[str, float | None]:
    """Every segment of ``feature`` that has ``metric`` among flattened metrics."""
    prefix = f"{metric}[{feature}="
    return {
        key[len(prefix) : -1]: value
        for key, value in metrics.items()
        if key.startswith(prefix) and key.endswith("]")
    }


def check_segment_features(spec: SegmentSpec, signature: Mapping[str, Any]) -> None:
    """Each segmenting feature must be a categorical or numeric input of the model (free
    text and tensors have no bounded segments)."""
    kinds = {f["name"]: f.get("kind") for f in signature.get("inputs", [])}
    for name in spec.features:
        if name not in kinds:
            known = ", ".join(kinds) or "none"
            raise InvalidInput(f"segment_by {name!r}: not an input of the model (inputs: {known})")
        if kinds[name] in ("text", "tensor"):
            raise InvalidInput(
                f"segment_by {name!r}: a {kinds[name]} feature has no bounded segments; "
                "use a categorical or numeric feature"
            )
