"""The page: the versions overview, drift settings, and per version its facts, timeline,
drift table and histograms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson

from modelyard.domain.jsonable import plain
from modelyard.domain.monitor_results import (
    DRIFT,
    DriftReport,
    FeatureDrift,
    MonitorSummary,
    VersionMonitor,
)
from modelyard.domain.monitoring import NO_REFERENCE, DriftConfig
from modelyard.formatting import DASH, as_number, duration, ms, num, pct
from modelyard.monitoring.report.charts import EXPANDED_HISTOGRAMS, histogram_grid, timeline_grid
from modelyard.monitoring.report.embed import LOADER, Charts, plotly_js
from modelyard.monitoring.report.quality import class_section, data_quality_section
from modelyard.monitoring.report.segments import segments_section
from modelyard.monitoring.report.values import (
    drift_order,
    esc,
    estimate_text,
    fact,
    headline_quality,
    quality_text,
    test_columns,
    test_name,
    verdict_badge,
)


def render_json(summary: MonitorSummary) -> str:
    """The summary's ``to_json()``, indented (non-finite numbers become null)."""
    options = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(plain(summary.to_json()), option=options).decode()


def render_html(summary: MonitorSummary, *, expanded: int = EXPANDED_HISTOGRAMS) -> str:
    """One self-contained HTML page for a ``summarize(…)`` result.

    ``expanded`` feature histograms per version are shown open (drifted features first);
    the others are in a collapsed section and drawn only when it is opened.
    """
    page = Charts()
    endpoint = esc(summary.endpoint)
    body = [
        f"<h1>Monitor report: {endpoint}</h1>",
        f'<p class="period">From <time>{summary.since.isoformat()}</time> '
        f"to <time>{summary.until.isoformat()}</time></p>",
        '<noscript><p class="note">Charts need JavaScript; every number is also in the '
        "tables.</p></noscript>",
        _overview(summary.versions),
        _config(summary.drift_config),
    ]
    for index, version in enumerate(summary.versions):
        period = (summary.since, summary.until)
        body.append(_version(page, index, version, summary.drift_config, max(expanded, 0), period))
    head = f"<style>{CSS}</style>"
    scripts = ""
    if page.count:
        head += f"<script>{plotly_js()}</script>"
        scripts = f"<script>{LOADER}</script>"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Monitor report: {endpoint}</title>\n{head}\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + f"\n</main>\n{scripts}\n</body>\n</html>\n"
    )


def _overview(versions: Sequence[VersionMonitor]) -> str:
    if not versions:
        return '<p class="note">No traffic, errors or feedback in this period.</p>'
    rows = []
    for index, v in enumerate(versions):
        rows.append(
            "<tr>"
            f'<th scope="row"><a href="#version-{index}">{esc(v.version)}</a></th>'
            f'<td class="num">{num(v.requests)}</td>'
            f'<td class="num">{num(v.rows)}</td>'
            f'<td class="num">{pct(v.error_rate)}</td>'
            f'<td class="num">{ms(v.latency_ms.p95)}</td>'
            f'<td class="num">{pct(v.drift_share)}</td>'
            f"<td>{verdict_badge(v.drift.verdict if v.drift else None)}</td>"
            f"<td>{headline_quality(v.quality)}</td>"
            f'<td class="num">{pct(v.feedback.coverage)}</td>'
            "</tr>"
        )
    return (
        "<section>\n<h2>Versions</h2>\n<table>\n<thead><tr>"
        '<th scope="col">Version</th><th scope="col">Requests</th><th scope="col">Rows</th>'
        '<th scope="col">Error rate (5xx)</th><th scope="col">Latency p95</th>'
        '<th scope="col">Drift share</th><th scope="col">Drift</th>'
        '<th scope="col">Quality</th><th scope="col">Feedback coverage</th>'
        "</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n</section>"
    )


def _config(config: DriftConfig) -> str:
    listed = ", ".join(f"{esc(test_name(k))} {num(v)}" for k, v in config.thresholds.items())
    facts = [
        ("Numeric test (large samples)", esc(test_name(config.numeric_test))),
        ("Categorical test (large samples)", esc(test_name(config.categorical_test))),
        ("Thresholds", listed or DASH),
        ("Large samples have more than", f"{num(config.large_rows)} rows"),
        ("p-value (small samples)", num(config.p_value)),
        ("Fewest rows judged", num(config.min_rows)),
        ("Drift when the drifted share reaches", pct(config.drift_share)),
    ]
    return (
        '<details class="config"><summary>Drift settings</summary>\n<table class="facts">'
        + "".join(fact(name, value) for name, value in facts)
        + "</table></details>"
    )


def _version(
    page: Charts,
    index: int,
    v: VersionMonitor,
    config: DriftConfig,
    expanded: int,
    period: tuple[datetime, datetime],
) -> str:
    parts = [
        f'<section class="version" id="version-{index}">',
        f"<h2>Version {esc(v.version)}</h2>",
        _facts(v),
        "<h3>Over time</h3>",
        timeline_grid(page, v.timeline, config, period),
        "<h3>Drift per feature</h3>",
        _drift_table(v.drift),
        "<h3>Data quality</h3>",
        data_quality_section(v),
        class_section(v),
        segments_section(v),
        "<h3>Reference and current distributions</h3>",
        histogram_grid(page, v.histograms, v.drift, expanded),
        "</section>",
    ]
    return "\n".join(parts)


def _facts(v: VersionMonitor) -> str:
    by_status = ", ".join(f"{esc(status)}: {num(n)}" for status, n in v.traffic.errors.items())
    top = ", ".join(f"<code>{esc(feature)}</code>" for feature in v.top_drifted)
    classes = ", ".join(f"<code>{esc(label)}</code>: {num(n)}" for label, n in v.classes.items())
    feedback = v.feedback
    latency = v.latency_ms
    return (
        '<table class="facts">'
        + fact("Requests", num(v.requests))
        + fact("Rows predicted", num(v.rows))
        + fact("Error rate (5xx)", pct(v.error_rate))
        + fact("Client error rate (4xx)", pct(v.client_error_rate))
        + fact("Errors by status", by_status or DASH)
        + fact(
            "Latency p50 / p95 / p99",
            " / ".join(ms(q) for q in (latency.p50, latency.p95, latency.p99)),
        )
        + fact("Drift", _drift_text(v.drift) if v.drift else _no_drift(v))
        + fact("Most drifted", top or DASH)
        + fact("Output drift", _output_text(v.drift.output if v.drift else None))
        + fact("Predicted classes", classes or DASH)
        + fact("Quality", quality_text(v.quality))
        + fact("Estimated (no labels)", estimate_text(v.estimate))
        + fact(
            "Feedback",
            f"{num(feedback.labeled)} of {num(feedback.logged)} logged predictions labelled "
            f"({pct(feedback.coverage)}); median lag {duration(feedback.lag_seconds_p50)}",
        )
        + "</table>"
    )


def _drift_text(drift: DriftReport) -> str:
    text = verdict_badge(drift.verdict)
    if as_number(drift.drift_share) is not None:
        text += f" {pct(drift.drift_share)} of features drifted"
        text += f" (threshold {pct(drift.config.drift_share)})"
    return text


def _output_text(output: FeatureDrift | None) -> str:
    if output is None:
        return DASH
    return f"{verdict_badge(output.verdict)} {esc(test_name(output.test))} {num(output.score)}"


def _no_drift(v: VersionMonitor) -> str:
    reason = v.drift_unavailable or ""
    if reason == NO_REFERENCE:
        reason += " (add one with modelyard profile set and a sample of its training inputs)"
    return f"{DASH} ({esc(reason or 'no reference profile')})"


def _drift_table(drift: DriftReport | None) -> str:
    features = drift.features if drift else []
    output = drift.output if drift else None
    if not features and output is None:
        return '<p class="note">No drift tests: no reference profile or no traffic.</p>'
    tests = test_columns([*features, *([output] if output else [])])
    head = (
        '<th scope="col">Feature</th><th scope="col">Kind</th>'
        '<th scope="col">Current rows</th><th scope="col">Reference rows</th>'
        '<th scope="col">Missing</th>'
        + "".join(f'<th scope="col">{esc(test_name(t))}</th>' for t in tests)
        + '<th scope="col">Deciding test</th><th scope="col">Threshold</th>'
        '<th scope="col">Verdict</th>'
    )
    body = [_drift_row(f, tests) for f in sorted(features, key=drift_order)]
    extra = ""
    if output is not None:
        extra = f'\n<tbody class="output">{_drift_row(output, tests)}</tbody>'
    return (
        '<div class="scroll"><table class="drift">\n'
        f"<caption>{len(features)} features, drifted first; the value that decided each "
        "verdict is in bold.</caption>\n"
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + f"\n</tbody>{extra}\n"
        "</table></div>"
    )


def _drift_row(f: FeatureDrift, tests: list[str]) -> str:
    cells = []
    for name in tests:
        value = num(f.values.get(name))
        cells.append(
            f'<td class="num">{f"<strong>{value}</strong>" if name == f.test else value}</td>'
        )
    row_class = ' class="drifted"' if f.verdict == DRIFT else ""
    comparator = "&lt;" if f.test.endswith("p_value") else "≥"
    threshold = num(f.threshold)
    return (
        f"<tr{row_class}>"
        f'<th scope="row"><code>{esc(f.feature)}</code></th>'
        f"<td>{esc(f.kind)}</td>"
        f'<td class="num">{num(f.current_rows)}</td>'
        f'<td class="num">{num(f.reference_rows)}</td>'
        f'<td class="num">{num(f.missing)}</td>'
        + "".join(cells)
        + f"<td>{esc(test_name(f.test))}</td>"
        f'<td class="num">{comparator if threshold != DASH else ""} {threshold}</td>'
        f"<td>{verdict_badge(f.verdict)}</td></tr>"
    )


CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2937;
  background: #fff; margin: 0; }
main { max-width: 1240px; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #d1d5db; padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
h4 { font-size: .95rem; margin: 0 0 .3rem; overflow-wrap: anywhere; }
.period, .note, .caption { color: #4b5563; }
.caption { font-size: .85rem; margin: .2rem 0 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
th, td { border: 1px solid #d1d5db; padding: .3rem .55rem; text-align: left; vertical-align: top; }
thead th { background: #f3f4f6; position: sticky; top: 0; }
caption { text-align: left; color: #4b5563; padding-bottom: .3rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.facts th { background: #f9fafb; font-weight: 600; width: 16rem; }
tr.drifted { background: #fdecea; }
tr.drifted th { border-left: 4px solid #b42318; }
tbody.output tr { border-top: 2px solid #6b7280; }
code { font-family: ui-monospace, "SF Mono", Menlo, monospace; font-size: .9em;
  overflow-wrap: anywhere; }
.verdict { display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-size: .85em;
  font-weight: 600; white-space: nowrap; }
.verdict.bad { background: #fde2e1; color: #8a1c12; }
.verdict.ok { background: #dcf2e3; color: #14532d; }
.verdict.na { background: #eceff3; color: #374151; }
.scroll { overflow-x: auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 1rem; }
.grid > section { border: 1px solid #e5e7eb; border-radius: .4rem; padding: .6rem; min-width: 0; }
.plot { width: 100%; min-height: 260px; }
details { margin: .8rem 0; }
summary { cursor: pointer; font-weight: 600; color: #1d4ed8; }
a { color: #1d4ed8; }
"""
