"""A version's segments over a period, from its merged window and its labelled rows:
counts, quality from feedback, estimated performance and drift per segment, worst first."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from modelyard.domain.monitor_results import MonitorSummary
from modelyard.domain.monitoring import DriftConfig
from modelyard.domain.segment_results import SegmentMonitor, worst_first
from modelyard.domain.segments import QUARTILES
from modelyard.errors import InvalidInput
from modelyard.monitoring.drift import compare
from modelyard.monitoring.estimation import estimated
from modelyard.monitoring.loss_estimation import estimated_losses
from modelyard.monitoring.quality import quality
from modelyard.monitoring.segments import quartile_cuts, row_segments
from modelyard.monitoring.window import Window
from modelyard.store.predictions import LabeledPrediction


def segment_monitors(
    profile: Mapping[str, Any],
    merged: Window,
    labeled: Sequence[LabeledPrediction],
    kind: str,
    classes: Sequence[Any] | None,
    config: DriftConfig,
) -> tuple[SegmentMonitor, ...]:
    """Every segment the period's windows or labels know, worst first."""
    if not merged.segments and not any(row.segments for row in labeled):
        return ()
    labels: dict[tuple[str, str], list[LabeledPrediction]] = defaultdict(list)
    for row, segments in zip(labeled, row_segments([r.segments for r in labeled]), strict=True):
        for feature, value in segments.items():
            labels[(str(feature), str(value))].append(row)
    keys = {(f, v) for f, parts in merged.segments.items() for v in parts} | set(labels)
    reference = profile.get("estimation") or {}
    found = []
    for feature, value in sorted(keys):
        part = merged.segments.get(feature, {}).get(value)
        realized = quality(labels.get((feature, value), []), kind, classes)
        drift = (
            compare(profile, part.features, part.output, config, brief=True)
            if part is not None and profile
            else None
        )
        found.append(
            SegmentMonitor(
                feature=feature,
                value=value,
                rows=part.rows if part is not None else 0,
                requests=part.requests if part is not None else 0,
                share=(part.rows / merged.rows if part is not None and merged.rows else None),
                quality=realized,
                estimate=(
                    estimated(reference, part.scores, realized)
                    or estimated_losses(reference, part.losses, realized)
                    if part is not None
                    else None
                ),
                drift_share=drift.drift_share if drift is not None else None,
                drifted=tuple(f.feature for f in drift.features if f.drifted)
                if drift is not None
                else (),
                bounds=_bounds(profile, feature, value),
            )
        )
    return worst_first(found)


def _bounds(
    profile: Mapping[str, Any], feature: str, value: str
) -> tuple[float | None, float | None] | None:
    """A numeric segment's [low, high) from the reference quartiles (None: open end)."""
    reference = profile.get("features", {}).get(feature)
    if value not in QUARTILES or reference is None or reference.get("type") != "numeric":
        return None
    cuts = quartile_cuts(reference).tolist()
    if len(cuts) != len(QUARTILES) - 1:
        return None
    index = QUARTILES.index(value)
    edges: list[float | None] = [None, *cuts, None]
    return edges[index], edges[index + 1]


def by_feature(summary: MonitorSummary, feature: str, split_by: Sequence[str]) -> MonitorSummary:
    """The summary with only ``feature``'s segments (``monitor status --by``)."""
    if feature not in split_by:
        split = ", ".join(split_by) or "nothing"
        raise InvalidInput(
            f"by {feature!r}: endpoint {summary.endpoint!r} is not monitored by that feature "
            f"(split by {split}; set it with `modelyard monitor configure --segment-by`)"
        )
    versions = tuple(
        dataclasses.replace(v, segments=tuple(s for s in v.segments if s.feature == feature))
        for v in summary.versions
    )
    return dataclasses.replace(summary, versions=versions)
