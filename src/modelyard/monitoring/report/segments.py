"""The report's segments table: one row per segment, worst first as the summary orders
them, its realized quality beside its estimate and its drift."""

from __future__ import annotations

from modelyard.domain.monitor_results import VersionMonitor
from modelyard.domain.segment_results import HEADLINE, SegmentMonitor
from modelyard.formatting import DASH, brief, num, pct
from modelyard.monitoring.report.values import esc

_KIND_OF_METHOD = {"cbpe": "classification", "dle": "regression"}


def _metric(segments: tuple[SegmentMonitor, ...]) -> str:
    """The headline the segments are judged by: accuracy for classifiers, MAE for regressors."""
    for s in segments:
        kind = s.quality.kind or (_KIND_OF_METHOD.get(s.estimate.method) if s.estimate else None)
        if kind in HEADLINE:
            return HEADLINE[kind]
    return HEADLINE["classification"]


def _value(s: SegmentMonitor) -> str:
    if s.bounds is None:
        return esc(s.value)
    low, high = s.bounds
    return esc(
        f"{s.value} [{brief(low) if low is not None else '−∞'}, "
        f"{brief(high) if high is not None else '∞'})"
    )


def _estimate(s: SegmentMonitor, metric: str) -> str:
    m = s.estimate.metrics.get(metric) if s.estimate is not None else None
    if m is None or m.value is None:
        return DASH
    if m.low is None or m.high is None:
        return num(m.value)
    return f"{num(m.value)} [{num(m.low)}–{num(m.high)}]"


def segments_section(v: VersionMonitor) -> str:
    if not v.segments:
        return ""
    metric = _metric(v.segments)
    rows = "".join(
        f"<tr><td><code>{esc(s.feature)}</code></td><td>{_value(s)}</td>"
        f'<td class="num">{num(s.rows)}</td><td class="num">{num(s.requests)}</td>'
        f'<td class="num">{pct(s.share)}</td>'
        f'<td class="num">{num(s.quality.metric(metric))} ({num(s.quality.labeled)} labelled)</td>'
        f'<td class="num">{_estimate(s, metric)}</td><td class="num">{pct(s.drift_share)}</td>'
        f"<td>{esc(', '.join(s.drifted)) or DASH}</td></tr>"
        for s in v.segments
    )
    return (
        f"<h3>Segments, worst {esc(metric)} first</h3>"
        '<table class="segments"><thead><tr><th>feature</th><th>value</th><th>rows</th>'
        f"<th>requests</th><th>share</th><th>realized {esc(metric)}</th>"
        f"<th>estimated {esc(metric)}</th><th>drift share</th><th>drifted features</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )
