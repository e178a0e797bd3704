"""``monitor status --by FEATURE``'s table: one version's segments, worst first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from modelyard.cli.output import say, table
from modelyard.formatting import brief, pct

if TYPE_CHECKING:
    from modelyard.domain.monitor_results import VersionMonitor
    from modelyard.domain.segment_results import SegmentMonitor


def segment_table(
    endpoint: str, since: str, feature: str, versions: Sequence[VersionMonitor]
) -> None:
    for v in versions:
        if not v.segments:
            say(f"{v.version}: no rows of any {feature} segment in the last {since}")
            continue
        table(
            f"{endpoint} {v.version} by {feature}, worst first, last {since}",
            ["segment", "rows", "share", "ranked by", "labelled", "drift share", "drifted"],
            [_row(s) for s in v.segments],
        )


def _row(segment: SegmentMonitor) -> list[object]:
    headline = segment.headline()
    name = segment.value
    if segment.bounds is not None:
        low, high = segment.bounds
        name += f" [{brief(low) if low is not None else '-∞'}, "
        name += f"{brief(high) if high is not None else '∞'})"
    return [
        name,
        segment.rows,
        pct(segment.share),
        f"{headline[0]} {brief(headline[1])}" if headline else "—",
        segment.quality.labeled,
        pct(segment.drift_share),
        ", ".join(segment.drifted[:3]) or "—",
    ]
