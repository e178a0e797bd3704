"""``monitor status``'s data-quality table (missing, out-of-range and unseen shares per
feature, refusals per rule) and its per-class table (precision, recall, F1 and the
confusion matrix) from feedback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from modelyard.cli.output import say, table
from modelyard.formatting import pct

if TYPE_CHECKING:
    from modelyard.domain.monitor_results import VersionMonitor
    from modelyard.domain.quality_signals import ClassReport, FeatureQuality

SHOWN_FEATURES = 10  # the worst; --json has them all
SHOWN_MATRIX = 10  # classes of the confusion matrix printed


def data_quality_table(endpoint: str, since: str, versions: Sequence[VersionMonitor]) -> None:
    """The worst features per version (those with any missing, out-of-range or unseen
    value), and what refused requests."""
    rows = []
    refusals: list[str] = []
    clean: list[str] = []
    for v in versions:
        quality = v.data_quality
        if quality is None:
            continue
        flagged = [f for f in quality.worst(SHOWN_FEATURES) if _flagged(f)]
        if not flagged:
            clean.append(f"{v.version}: no missing, out-of-range or unseen values")
        for item in flagged:
            rows.append(
                [
                    v.version,
                    item.feature,
                    item.kind,
                    item.rows,
                    pct(item.missing_share),
                    pct(item.out_of_range_share),
                    pct(item.unseen_share),
                ]
            )
        shares = ", ".join(f"{rule} {pct(quality.refused_share(rule))}" for rule in quality.refused)
        if shares:
            refusals.append(f"{v.version}: refused {shares} of {quality.attempts} requests")
    if rows:
        table(
            f"{endpoint}, data quality, last {since} (worst features first)",
            ["version", "feature", "kind", "rows", "missing", "out of range", "unseen"],
            rows,
        )
    for line in clean + refusals:
        say(line)


def _flagged(item: FeatureQuality) -> bool:
    shares = (item.missing_share, item.out_of_range_share, item.unseen_share)
    return any(share for share in shares)


def class_tables(endpoint: str, since: str, versions: Sequence[VersionMonitor]) -> None:
    """Per class quality from feedback, and the confusion matrix (actual × predicted)."""
    for v in versions:
        report = v.per_class
        if report is None:
            continue
        table(
            f"{endpoint} {v.version}, quality per class from feedback, last {since}",
            ["class", "precision", "recall", "f1", "labelled rows"],
            [
                [c.label, f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}", c.support]
                for c in report.classes
            ],
        )
        _matrix(report)


def _matrix(report: ClassReport) -> None:
    if len(report.labels) > SHOWN_MATRIX:
        say(f"confusion matrix of {len(report.labels)} classes: see --json")
        return
    table(
        "confusion matrix (rows: actual, columns: predicted)",
        ["actual \\ predicted", *report.labels],
        [[name, *row] for name, row in zip(report.labels, report.confusion, strict=True)],
    )
