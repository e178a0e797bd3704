"""One segment of a version's traffic over a period (``country=FR``), and the order that
puts the worst segments first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelyard.domain.estimates import Estimate
from modelyard.domain.monitor_results import (
    ESTIMATED_METRICS,
    QUALITY_METRICS,
    Quality,
)
from modelyard.domain.segments import LOWER_IS_BETTER

# A segment's realized quality ranks it, and conditions read it, once this many of its
# rows have labels; before that its estimate ranks it (a handful of labels says little).
MIN_LABELED = 20
# What a segment reports, so what a condition may name per segment (``labeled`` is the
# count of its labelled rows: rollouts wait for enough of them, control/canary.py).
SEGMENT_METRICS = (
    "rows",
    "requests",
    "labeled",
    "drift_share",
    "feedback_coverage",
    *QUALITY_METRICS,
    *ESTIMATED_METRICS,
)
HEADLINE = {"classification": "accuracy", "regression": "mae"}


@dataclass(frozen=True)
class SegmentMonitor:
    feature: str
    value: str  # a category, "other", "missing", or a quartile q1 … q4
    rows: int
    requests: int
    share: float | None  # of the version's rows
    quality: Quality
    estimate: Estimate | None
    drift_share: float | None
    drifted: tuple[str, ...]  # features whose drift test fires in this segment
    bounds: tuple[float | None, float | None] | None = None  # a quartile's [low, high)

    def headline(self) -> tuple[str, float] | None:
        """The quality that ranks this segment: realized with enough labels, else
        estimated (``accuracy`` / ``estimated_accuracy``, ``mae`` / ``estimated_mae``)."""
        kind = self.quality.kind or (
            {"cbpe": "classification", "dle": "regression"}.get(self.estimate.method)
            if self.estimate is not None
            else None
        )
        name = HEADLINE.get(kind or "")
        if name is None:
            return None
        realized = self.quality.metric(name)
        if realized is not None and self.quality.labeled >= MIN_LABELED:
            return name, realized
        estimated = self.estimate.value(name) if self.estimate is not None else None
        if estimated is not None:
            return f"estimated_{name}", estimated
        return (name, realized) if realized is not None else None

    def metrics(self) -> dict[str, float | None]:
        """What conditions on this segment read (names as in ``monitor status``); its
        realized quality only from MIN_LABELED labelled rows (before that, noise)."""
        labeled = self.quality.labeled
        values: dict[str, float | None] = {
            "rows": float(self.rows),
            "requests": float(self.requests),
            "labeled": float(labeled),
            "drift_share": self.drift_share,
            "feedback_coverage": (
                min(self.quality.labeled / self.rows, 1.0) if self.rows else None
            ),
        }
        for name in QUALITY_METRICS:
            values[name] = self.quality.metric(name) if labeled >= MIN_LABELED else None
        for name in ESTIMATED_METRICS:
            estimate = self.estimate
            values[name] = (
                estimate.value(name.removeprefix("estimated_")) if estimate is not None else None
            )
        return values

    def to_json(self) -> dict[str, Any]:
        headline = self.headline()
        data: dict[str, Any] = {
            "feature": self.feature,
            "value": self.value,
            "rows": self.rows,
            "requests": self.requests,
            "share": self.share,
            "quality": self.quality.to_json(),
            "estimated": self.estimate.to_json() if self.estimate is not None else None,
            "drift_share": self.drift_share,
            "drifted_features": list(self.drifted),
            "ranked_by": {"metric": headline[0], "value": headline[1]} if headline else None,
        }
        if self.bounds is not None:
            data["bounds"] = list(self.bounds)
        return data


def worst_first(segments: Sequence[SegmentMonitor]) -> tuple[SegmentMonitor, ...]:
    """Segments with a quality first, the worst quality first; then by drift (most drifted
    first), then by size."""

    def key(segment: SegmentMonitor) -> tuple[int, float, float, int]:
        headline = segment.headline()
        if headline is None:
            badness = 0.0
        else:
            name, value = headline
            badness = -value if name in LOWER_IS_BETTER else value
        return (
            0 if headline is not None else 1,
            badness,
            -(segment.drift_share or 0.0),
            -segment.rows,
        )

    return tuple(sorted(segments, key=key))
