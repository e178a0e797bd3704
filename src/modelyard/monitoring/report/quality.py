"""The report's data-quality table (per feature: missing, out-of-range and unseen shares;
refusals per rule) and its per-class table with the confusion matrix."""

from __future__ import annotations

from modelyard.domain.monitor_results import VersionMonitor
from modelyard.formatting import num, pct
from modelyard.monitoring.report.values import esc


def data_quality_section(v: VersionMonitor) -> str:
    quality = v.data_quality
    if quality is None:
        return ""
    rows = [
        f"<tr><td><code>{esc(f.feature)}</code></td><td>{esc(f.kind)}</td>"
        f"<td>{num(f.rows)}</td><td>{pct(f.missing_share)}</td>"
        f"<td>{pct(f.out_of_range_share)}</td><td>{pct(f.unseen_share)}</td></tr>"
        for f in quality.worst(len(quality.features))
    ]
    refused = ", ".join(
        f"<code>{esc(rule)}</code> {pct(quality.refused_share(rule))}" for rule in quality.refused
    )
    table = (
        '<table class="quality"><thead><tr><th>feature</th><th>kind</th><th>rows</th>'
        "<th>missing</th><th>out of training range</th><th>unseen category</th></tr></thead>"
        "<tbody>" + "".join(rows) + "</tbody></table>"
        if rows
        else '<p class="note">No reference profile: no per-feature signals.</p>'
    )
    return (
        table
        + f"<p>Requests refused (4xx) by rule, of {num(quality.attempts)}: {refused or 'none'}</p>"
    )


def class_section(v: VersionMonitor) -> str:
    report = v.per_class
    if report is None:
        return ""
    rows = "".join(
        f"<tr><td>{esc(c.label)}</td><td>{c.precision:.3f}</td><td>{c.recall:.3f}</td>"
        f"<td>{c.f1:.3f}</td><td>{num(c.support)}</td></tr>"
        for c in report.classes
    )
    head = "".join(f"<th>{esc(name)}</th>" for name in report.labels)
    matrix = "".join(
        f"<tr><th>{esc(name)}</th>" + "".join(f"<td>{num(n)}</td>" for n in row) + "</tr>"
        for name, row in zip(report.labels, report.confusion, strict=True)
    )
    return (
        "<h3>Quality per class (from feedback)</h3>"
        '<table class="classes"><thead><tr><th>class</th><th>precision</th><th>recall</th>'
        "<th>F1</th><th>labelled rows</th></tr></thead><tbody>" + rows + "</tbody></table>"
        "<h4>Confusion matrix (rows: actual, columns: predicted)</h4>"
        f'<table class="confusion"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{matrix}</tbody></table>"
    )
