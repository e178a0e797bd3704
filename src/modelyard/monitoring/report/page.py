"""The page: the versions overview, drift settings, and per version its facts, timeline,
drift table and histograms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from modelyard.domain.jsonable import plain
from modelyard.domain.monitor_results import DRIFT, MonitorSummary
from modelyard.domain.monitoring import NO_REFERENCE
from modelyard.formatting import DASH, as_number, duration, ms, num, pct
from modelyard.monitoring.report.charts import EXPANDED_HISTOGRAMS, histogram_grid, timeline_grid
from modelyard.monitoring.report.embed import LOADER, Charts, plotly_js
from modelyard.monitoring.report.values import (
    as_dict,
    as_list,
    as_text,
    esc,
    fact,
    headline_quality,
    quality_text,
    severity,
    test_columns,
    test_name,
    verdict_badge,
)


def render_json(summary: MonitorSummary | Mapping[str, Any]) -> str:
    """The summary as indented JSON (non-finite numbers become null)."""
    options = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(plain(_json(summary)), option=options).decode()


def render_html(
    summary: MonitorSummary | Mapping[str, Any], *, expanded: int = EXPANDED_HISTOGRAMS
) -> str:
    """One self-contained HTML page for a ``summarize(…)`` result, or for its JSON (read
    defensively: a hand-edited or older summary may lack values or hold malformed ones).

    ``expanded`` feature histograms per version are shown open (drifted features first);
    the others are in a collapsed section and drawn only when it is opened.
    """
    summary = _json(summary)
    page = Charts()
    endpoint = as_text(summary.get("endpoint"))
    versions = [v for v in as_list(summary.get("versions")) if isinstance(v, Mapping)]
    config = as_dict(summary.get("drift_config"))
    body = [
        f"<h1>Monitor report: {esc(endpoint)}</h1>",
        f'<p class="period">From <time>{esc(as_text(summary.get("since")))}</time> '
        f"to <time>{esc(as_text(summary.get('until')))}</time></p>",
        '<noscript><p class="note">Charts need JavaScript; every number is also in the '
        "tables.</p></noscript>",
        _overview(versions),
        _config(config),
    ]
    for index, version in enumerate(versions):
        body.append(_version(page, index, version, config, max(expanded, 0)))
    head = f"<style>{CSS}</style>"
    scripts = ""
    if page.count:
        head += f"<script>{plotly_js()}</script>"
        scripts = f"<script>{LOADER}</script>"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Monitor report: {esc(endpoint)}</title>\n{head}\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + f"\n</main>\n{scripts}\n</body>\n</html>\n"
    )


def _json(summary: MonitorSummary | Mapping[str, Any]) -> dict[str, Any]:
    return summary.to_json() if isinstance(summary, MonitorSummary) else dict(summary)


def _overview(versions: list[Mapping[str, Any]]) -> str:
    if not versions:
        return '<p class="note">No traffic, errors or feedback in this period.</p>'
    rows = []
    for index, v in enumerate(versions):
        drift = as_dict(v.get("drift"))
        rows.append(
            "<tr>"
            f'<th scope="row"><a href="#version-{index}">{esc(as_text(v.get("version")))}</a></th>'
            f'<td class="num">{num(v.get("requests"))}</td>'
            f'<td class="num">{num(v.get("rows"))}</td>'
            f'<td class="num">{pct(v.get("error_rate"))}</td>'
            f'<td class="num">{ms(as_dict(v.get("latency_ms")).get("p95"))}</td>'
            f'<td class="num">{pct(v.get("drift_share"))}</td>'
            f"<td>{verdict_badge(drift.get('verdict'))}</td>"
            f"<td>{headline_quality(as_dict(v.get('quality')))}</td>"
            f'<td class="num">{pct(as_dict(v.get("feedback")).get("coverage"))}</td>'
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


def _config(config: Mapping[str, Any]) -> str:
    if not config:
        return ""
    thresholds = as_dict(config.get("thresholds"))
    listed = ", ".join(f"{esc(test_name(k))} {num(v)}" for k, v in thresholds.items())
    facts = [
        ("Numeric test (large samples)", esc(test_name(config.get("numeric_test")))),
        ("Categorical test (large samples)", esc(test_name(config.get("categorical_test")))),
        ("Thresholds", listed or DASH),
        ("Large samples have more than", f"{num(config.get('large_rows'))} rows"),
        ("p-value (small samples)", num(config.get("p_value"))),
        ("Fewest rows judged", num(config.get("min_rows"))),
        ("Drift when the drifted share reaches", pct(config.get("drift_share"))),
    ]
    return (
        '<details class="config"><summary>Drift settings</summary>\n<table class="facts">'
        + "".join(fact(name, value) for name, value in facts)
        + "</table></details>"
    )


def _version(
    page: Charts, index: int, v: Mapping[str, Any], config: Mapping[str, Any], expanded: int
) -> str:
    name = esc(as_text(v.get("version")))
    drift = as_dict(v.get("drift"))
    parts = [
        f'<section class="version" id="version-{index}">',
        f"<h2>Version {name}</h2>",
        _facts(v, drift),
        "<h3>Over time</h3>",
        timeline_grid(page, as_list(v.get("timeline")) if "timeline" in v else None, config),
        "<h3>Drift per feature</h3>",
        _drift_table(drift),
        "<h3>Reference and current distributions</h3>",
        histogram_grid(page, v.get("histograms"), drift, expanded),
        "</section>",
    ]
    return "\n".join(parts)


def _facts(v: Mapping[str, Any], drift: Mapping[str, Any]) -> str:
    latency = as_dict(v.get("latency_ms"))
    errors = as_dict(v.get("errors"))
    by_status = ", ".join(f"{esc(as_text(k))}: {num(n)}" for k, n in errors.items())
    share = v.get("drift_share", drift.get("drift_share"))
    threshold = drift.get("drift_share_threshold")
    drift_text = verdict_badge(drift.get("verdict"))
    if as_number(share) is not None:
        drift_text += f" {pct(share)} of features drifted"
        if as_number(threshold) is not None:
            drift_text += f" (threshold {pct(threshold)})"
    top = ", ".join(f"<code>{esc(as_text(f))}</code>" for f in as_list(v.get("top_drifted")))
    output = as_dict(drift.get("output"))
    output_text = DASH
    if output:
        output_text = (
            f"{verdict_badge(output.get('verdict'))} {esc(test_name(output.get('test')))} "
            f"{num(as_dict(output.get('values')).get(as_text(output.get('test'))))}"
        )
    classes = as_dict(v.get("classes"))
    class_text = ", ".join(f"<code>{esc(as_text(k))}</code>: {num(n)}" for k, n in classes.items())
    feedback = as_dict(v.get("feedback"))
    feedback_text = DASH
    if feedback:
        feedback_text = (
            f"{num(feedback.get('labeled'))} of {num(feedback.get('logged'))} logged "
            f"predictions labelled ({pct(feedback.get('coverage'))}); median lag "
            f"{duration(feedback.get('lag_seconds_p50'))}"
        )
    return (
        '<table class="facts">'
        + fact("Requests", num(v.get("requests")))
        + fact("Rows predicted", num(v.get("rows")))
        + fact("Error rate (5xx)", pct(v.get("error_rate")))
        + fact("Client error rate (4xx)", pct(v.get("client_error_rate")))
        + fact("Errors by status", by_status or DASH)
        + fact(
            "Latency p50 / p95 / p99",
            " / ".join(ms(latency.get(p)) for p in ("p50", "p95", "p99")),
        )
        + fact("Drift", drift_text if drift else _no_drift(v))
        + fact("Most drifted", top or DASH)
        + fact("Output drift", output_text)
        + fact("Predicted classes", class_text or DASH)
        + fact("Quality", quality_text(as_dict(v.get("quality"))))
        + fact("Feedback", feedback_text)
        + "</table>"
    )


def _no_drift(v: Mapping[str, Any]) -> str:
    reason = as_text(v.get("drift_unavailable"))
    if reason == NO_REFERENCE:
        reason += " (add one with modelyard profile set and a sample of its training inputs)"
    return f"{DASH} ({esc(reason or 'no reference profile')})"


def _drift_table(drift: Mapping[str, Any]) -> str:
    features = [f for f in as_list(drift.get("features")) if isinstance(f, Mapping)]
    output = as_dict(drift.get("output"))
    if not features and not output:
        return '<p class="note">No drift tests: no reference profile or no traffic.</p>'
    tests = test_columns([*features, output])
    head = (
        '<th scope="col">Feature</th><th scope="col">Kind</th>'
        '<th scope="col">Current rows</th><th scope="col">Reference rows</th>'
        '<th scope="col">Missing</th>'
        + "".join(f'<th scope="col">{esc(test_name(t))}</th>' for t in tests)
        + '<th scope="col">Deciding test</th><th scope="col">Threshold</th>'
        '<th scope="col">Verdict</th>'
    )
    body = [_drift_row(f, tests) for f in sorted(features, key=severity)]
    extra = ""
    if output:
        extra = f'\n<tbody class="output">{_drift_row(output, tests)}</tbody>'
    return (
        '<div class="scroll"><table class="drift">\n'
        f"<caption>{len(features)} features, drifted first; the value that decided each "
        "verdict is in bold.</caption>\n"
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + f"\n</tbody>{extra}\n"
        "</table></div>"
    )


def _drift_row(f: Mapping[str, Any], tests: list[str]) -> str:
    values = as_dict(f.get("values"))
    test = as_text(f.get("test"))
    cells = []
    for name in tests:
        value = num(values.get(name))
        cells.append(
            f'<td class="num">{f"<strong>{value}</strong>" if name == test else value}</td>'
        )
    verdict = f.get("verdict")
    row_class = ' class="drifted"' if verdict == DRIFT else ""
    comparator = "&lt;" if test.endswith("p_value") else "≥"
    threshold = num(f.get("threshold"))
    return (
        f"<tr{row_class}>"
        f'<th scope="row"><code>{esc(as_text(f.get("feature")))}</code></th>'
        f"<td>{esc(as_text(f.get('kind')))}</td>"
        f'<td class="num">{num(f.get("current_rows"))}</td>'
        f'<td class="num">{num(f.get("reference_rows"))}</td>'
        f'<td class="num">{num(f.get("missing"))}</td>'
        + "".join(cells)
        + f"<td>{esc(test_name(test))}</td>"
        f'<td class="num">{comparator if threshold != DASH else ""} {threshold}</td>'
        f"<td>{verdict_badge(verdict)}</td></tr>"
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
