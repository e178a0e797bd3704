"""Data-quality signals of a window: per feature the share of missing values, of numeric
values outside the training range and of open categories never seen in training; and
requests refused (4xx) per rule.

Nothing new is counted for them: a numeric sketch's bins start at the reference minimum
and end at its maximum (the 0 and 1 quantiles, monitoring/sketch.py), so its ``low`` and
``high`` counts are the values outside the training range; a categorical sketch counts
missing and unseen values; the window counts refusals by rule. All are sums, so they merge
across replicas and buckets like the rest of the window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelyard.domain.quality_signals import DataQuality, FeatureQuality
from modelyard.domain.refusal_rules import CALLERS_BUSINESS, OTHER, known_rule
from modelyard.monitoring.sketch import CategoryCounts, NumericCounts, TextLengths
from modelyard.monitoring.window import Window


def data_quality(profile: Mapping[str, Any], window: Window) -> DataQuality:
    """The signals of ``window``, judged against the reference ``profile``."""
    specs = profile.get("features", {})
    features = tuple(
        quality
        for name, sketch in window.features.items()
        if (quality := feature_quality(name, specs.get(name, {}), sketch)) is not None
    )
    refused: dict[str, int] = {}
    for rule, count in window.refused.items():
        refused[known_rule(rule)] = refused.get(known_rule(rule), 0) + count
    # Windows stored before refusals were counted by rule (or by an older replica) have
    # their 4xx in ``errors`` only: those count as ``other``, so the share stays true.
    unruled = _client_errors(window) - sum(window.refused.values())
    if unruled > 0:
        refused[OTHER] = refused.get(OTHER, 0) + unruled
    attempts = window.requests + window.error_count
    return DataQuality(features, attempts, dict(sorted(refused.items())))


def _client_errors(window: Window) -> int:
    """4xx in ``window`` other than the caller's business (never counted by new windows)."""
    return sum(
        count
        for status, count in window.errors.items()
        if status.startswith("4") and not (status.isdigit() and int(status) in CALLERS_BUSINESS)
    )


def feature_quality(
    name: str, spec: Mapping[str, Any], sketch: NumericCounts | CategoryCounts
) -> FeatureQuality | None:
    if isinstance(sketch, TextLengths):
        return FeatureQuality(name, "text", sketch.total + sketch.missing, sketch.missing)
    if isinstance(sketch, NumericCounts):
        rows = sketch.total + sketch.missing
        return FeatureQuality(name, "numeric", rows, sketch.missing, sketch.low + sketch.high)
    if isinstance(sketch, CategoryCounts):
        rows = sketch.total + sketch.missing
        unseen = sketch.unseen if spec.get("open") else None
        return FeatureQuality(name, "categorical", rows, sketch.missing, unseen=unseen)
    return None
