"""A monitor summary as one self-contained HTML page, or as JSON for machines.

The page carries plotly.js inline once (no CDN, works offline) and every chart's figure as
JSON in a ``<script type="application/json">`` block; a few lines of script draw the
visible charts on load and the collapsed ones when their ``<details>`` opens, so a model
with hundreds of features still opens quickly. Tables are plain HTML and read without
JavaScript.

Everything that comes from the data (endpoint, versions, feature names, categories, class
labels, status codes) is HTML-escaped before it reaches the page; text that plotly draws
is escaped too (plotly reads a subset of HTML in labels and decodes ``&lt;`` back to
``<``), and figure JSON has every ``<`` written as ``\\u003c``, so no value can close the
``<script>`` it sits in.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from modelyard.domain.jsonable import plain
from modelyard.monitoring.drift import DRIFT, NO_DRIFT, NOT_ENOUGH, UNSEEN

EXPANDED_HISTOGRAMS = 12  # feature charts shown open; the rest sit in a closed <details>
MAX_CATEGORIES = 30  # bars per categorical chart (the rest are summed into one)
LABEL_CHARS = 24  # tick labels are cut to this many characters (hover shows all)

DASH = "—"
REFERENCE = "#4c78a8"
CURRENT = "#e8750a"
TESTS = {
    "psi": "PSI",
    "jensenshannon": "Jensen–Shannon",
    "ks": "KS",
    "ks_p_value": "KS p-value",
    "wasserstein": "Wasserstein",
    "chi2_p_value": "χ² p-value",
}
QUALITY = {
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
}
SCORES = ("accuracy", "f1", "roc_auc")  # plotted over time on a 0–1 axis
ERRORS = ("mae", "rmse")  # plotted over time in the target's unit
VERDICT_CLASS = {DRIFT: "bad", NO_DRIFT: "ok", NOT_ENOUGH: "na"}


def render_json(summary: Mapping[str, Any]) -> str:
    """The summary as indented JSON (non-finite numbers become null)."""
    options = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(plain(dict(summary)), option=options).decode()


def render_html(summary: Mapping[str, Any], *, expanded: int = EXPANDED_HISTOGRAMS) -> str:
    """One self-contained HTML page for a ``summarize(…)`` result.

    ``expanded`` feature histograms per version are shown open (drifted features first);
    the others are in a collapsed section and drawn only when it is opened.
    """
    page = _Page()
    endpoint = _text(summary.get("endpoint"))
    versions = [v for v in _list(summary.get("versions")) if isinstance(v, Mapping)]
    config = _dict(summary.get("drift_config"))
    body = [
        f"<h1>Monitor report: {_e(endpoint)}</h1>",
        f'<p class="period">From <time>{_e(_text(summary.get("since")))}</time> '
        f"to <time>{_e(_text(summary.get('until')))}</time></p>",
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
        head += f"<script>{_plotly_js()}</script>"
        scripts = f"<script>{LOADER}</script>"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Monitor report: {_e(endpoint)}</title>\n{head}\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + f"\n</main>\n{scripts}\n</body>\n</html>\n"
    )


# -- page parts -------------------------------------------------------------------------


def _overview(versions: list[Mapping[str, Any]]) -> str:
    if not versions:
        return '<p class="note">No traffic, errors or feedback in this period.</p>'
    rows = []
    for index, v in enumerate(versions):
        drift = _dict(v.get("drift"))
        rows.append(
            "<tr>"
            f'<th scope="row"><a href="#version-{index}">{_e(_text(v.get("version")))}</a></th>'
            f'<td class="num">{_num(v.get("requests"))}</td>'
            f'<td class="num">{_num(v.get("rows"))}</td>'
            f'<td class="num">{_pct(v.get("error_rate"))}</td>'
            f'<td class="num">{_ms(_dict(v.get("latency_ms")).get("p95"))}</td>'
            f'<td class="num">{_pct(v.get("drift_share"))}</td>'
            f"<td>{_verdict(drift.get('verdict'))}</td>"
            f"<td>{_headline_quality(_dict(v.get('quality')))}</td>"
            f'<td class="num">{_pct(_dict(v.get("feedback")).get("coverage"))}</td>'
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
    thresholds = _dict(config.get("thresholds"))
    listed = ", ".join(f"{_e(_test_name(k))} {_num(v)}" for k, v in thresholds.items())
    facts = [
        ("Numeric test (large samples)", _e(_test_name(config.get("numeric_test")))),
        ("Categorical test (large samples)", _e(_test_name(config.get("categorical_test")))),
        ("Thresholds", listed or DASH),
        ("Large samples have more than", f"{_num(config.get('large_rows'))} rows"),
        ("p-value (small samples)", _num(config.get("p_value"))),
        ("Fewest rows judged", _num(config.get("min_rows"))),
        ("Drift when the drifted share reaches", _pct(config.get("drift_share"))),
    ]
    return (
        '<details class="config"><summary>Drift settings</summary>\n<table class="facts">'
        + "".join(_fact(name, value) for name, value in facts)
        + "</table></details>"
    )


def _version(
    page: _Page, index: int, v: Mapping[str, Any], config: Mapping[str, Any], expanded: int
) -> str:
    name = _e(_text(v.get("version")))
    drift = _dict(v.get("drift"))
    parts = [
        f'<section class="version" id="version-{index}">',
        f"<h2>Version {name}</h2>",
        _facts(v, drift),
        "<h3>Over time</h3>",
        _timeline(page, _list(v.get("timeline")) if "timeline" in v else None, config),
        "<h3>Drift per feature</h3>",
        _drift_table(drift),
        "<h3>Reference and current distributions</h3>",
        _histograms(page, v.get("histograms"), drift, expanded),
        "</section>",
    ]
    return "\n".join(parts)


def _facts(v: Mapping[str, Any], drift: Mapping[str, Any]) -> str:
    latency = _dict(v.get("latency_ms"))
    errors = _dict(v.get("errors"))
    by_status = ", ".join(f"{_e(_text(k))}: {_num(n)}" for k, n in errors.items())
    share = v.get("drift_share", drift.get("drift_share"))
    threshold = drift.get("drift_share_threshold")
    drift_text = _verdict(drift.get("verdict"))
    if _number(share) is not None:
        drift_text += f" {_pct(share)} of features drifted"
        if _number(threshold) is not None:
            drift_text += f" (threshold {_pct(threshold)})"
    top = ", ".join(f"<code>{_e(_text(f))}</code>" for f in _list(v.get("top_drifted")))
    output = _dict(drift.get("output"))
    output_text = DASH
    if output:
        output_text = (
            f"{_verdict(output.get('verdict'))} {_e(_test_name(output.get('test')))} "
            f"{_num(_dict(output.get('values')).get(_text(output.get('test'))))}"
        )
    classes = _dict(v.get("classes"))
    class_text = ", ".join(f"<code>{_e(_text(k))}</code>: {_num(n)}" for k, n in classes.items())
    feedback = _dict(v.get("feedback"))
    feedback_text = DASH
    if feedback:
        feedback_text = (
            f"{_num(feedback.get('labeled'))} of {_num(feedback.get('logged'))} logged "
            f"predictions labelled ({_pct(feedback.get('coverage'))}); median lag "
            f"{_duration(feedback.get('lag_seconds_p50'))}"
        )
    return (
        '<table class="facts">'
        + _fact("Requests", _num(v.get("requests")))
        + _fact("Rows predicted", _num(v.get("rows")))
        + _fact("Error rate (5xx)", _pct(v.get("error_rate")))
        + _fact("Client error rate (4xx)", _pct(v.get("client_error_rate")))
        + _fact("Errors by status", by_status or DASH)
        + _fact(
            "Latency p50 / p95 / p99",
            " / ".join(_ms(latency.get(p)) for p in ("p50", "p95", "p99")),
        )
        + _fact("Drift", drift_text if drift else DASH + " (no reference profile)")
        + _fact("Most drifted", top or DASH)
        + _fact("Output drift", output_text)
        + _fact("Predicted classes", class_text or DASH)
        + _fact("Quality", _quality_text(_dict(v.get("quality"))))
        + _fact("Feedback", feedback_text)
        + "</table>"
    )


def _drift_table(drift: Mapping[str, Any]) -> str:
    features = [f for f in _list(drift.get("features")) if isinstance(f, Mapping)]
    output = _dict(drift.get("output"))
    if not features and not output:
        return '<p class="note">No drift tests: no reference profile or no traffic.</p>'
    tests = _test_columns([*features, output])
    head = (
        '<th scope="col">Feature</th><th scope="col">Kind</th>'
        '<th scope="col">Current rows</th><th scope="col">Reference rows</th>'
        '<th scope="col">Missing</th>'
        + "".join(f'<th scope="col">{_e(_test_name(t))}</th>' for t in tests)
        + '<th scope="col">Deciding test</th><th scope="col">Threshold</th>'
        '<th scope="col">Verdict</th>'
    )
    body = [_drift_row(f, tests) for f in sorted(features, key=_severity)]
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
    values = _dict(f.get("values"))
    test = _text(f.get("test"))
    cells = []
    for name in tests:
        value = _num(values.get(name))
        cells.append(
            f'<td class="num">{f"<strong>{value}</strong>" if name == test else value}</td>'
        )
    verdict = f.get("verdict")
    row_class = ' class="drifted"' if verdict == DRIFT else ""
    comparator = "&lt;" if test.endswith("p_value") else "≥"
    threshold = _num(f.get("threshold"))
    return (
        f"<tr{row_class}>"
        f'<th scope="row"><code>{_e(_text(f.get("feature")))}</code></th>'
        f"<td>{_e(_text(f.get('kind')))}</td>"
        f'<td class="num">{_num(f.get("current_rows"))}</td>'
        f'<td class="num">{_num(f.get("reference_rows"))}</td>'
        f'<td class="num">{_num(f.get("missing"))}</td>'
        + "".join(cells)
        + f"<td>{_e(_test_name(test))}</td>"
        f'<td class="num">{comparator if threshold != DASH else ""} {threshold}</td>'
        f"<td>{_verdict(verdict)}</td></tr>"
    )


def _histograms(page: _Page, charts: Any, drift: Mapping[str, Any], expanded: int) -> str:
    if not isinstance(charts, Mapping):
        return '<p class="note">Histograms are not part of this summary.</p>'
    if not charts:
        return '<p class="note">No reference profile to compare with.</p>'
    judged = {
        _text(f.get("feature")): f for f in _list(drift.get("features")) if isinstance(f, Mapping)
    }
    order = sorted(
        charts,
        key=lambda name: _severity(judged[name]) if name in judged else (3, 0.0, _text(name)),
    )
    blocks = [_histogram(page, _text(name), charts[name], judged.get(name)) for name in order]
    shown, hidden = blocks[:expanded], blocks[expanded:]
    out = '<div class="grid">' + "".join(shown) + "</div>"
    if hidden:
        out += (
            f'<details class="more"><summary>{len(hidden)} more features</summary>'
            f'<div class="grid">{"".join(hidden)}</div></details>'
        )
    return out


def _histogram(page: _Page, name: str, chart: Any, judged: Mapping[str, Any] | None) -> str:
    title = f"<code>{_e(name)}</code>"
    if judged is not None:
        title += f" {_verdict(judged.get('verdict'))}"
    data = _dict(chart)
    try:
        if data.get("type") == "numeric":
            figure, caption = _numeric_figure(data)
        elif data.get("type") == "categorical":
            figure, caption = _categorical_figure(data)
        else:
            figure, caption = None, "Unknown kind of feature."
    except (TypeError, ValueError, KeyError, IndexError, OverflowError):
        figure, caption = None, "The counts for this feature are malformed."
    chart_html = page.figure(figure, f"Reference and current distribution of {name}")
    if not chart_html:
        chart_html = '<p class="note">No chart.</p>'
    return (
        f'<section class="feature"><h4>{title}</h4>{chart_html}'
        f'<p class="caption">{caption}</p></section>'
    )


def _numeric_figure(data: Mapping[str, Any]) -> tuple[go.Figure | None, str]:
    edges = [float(e) for e in _list(data.get("edges"))]
    reference = [_count(c) for c in _list(data.get("reference"))]
    current = [_count(c) for c in _list(data.get("current"))]
    below, above = _count(data.get("below")), _count(data.get("above"))
    missing = _count(data.get("missing"))
    bins = len(reference)
    ref_total, cur_total = sum(reference), sum(current) + below + above
    caption = (
        f"Share of non-missing values per reference quantile bin ({bins} bins). "
        f"Reference {_num(ref_total)} values; current {_num(cur_total)} "
        f"({_num(below)} below and {_num(above)} above the reference range, "
        f"{_num(missing)} missing)."
    )
    if bins == 0 or len(edges) != bins + 1 or len(current) != bins:
        return None, caption + " The reference has no values to bin."
    # bins sit at 0 … bins-1 on a linear axis, ticks at bin boundaries show the edges;
    # values below and above the reference range get a bar of their own at either end
    x: list[float] = list(range(bins))
    ref_y, cur_y = _shares(reference, ref_total), _shares(current, cur_total)
    ranges = [
        f"[{_short(edges[i])}, {_short(edges[i + 1])}{']' if i == bins - 1 else ')'}"
        for i in range(bins)
    ]
    ticks = sorted({round(i * bins / 6) for i in range(7)})
    tickvals: list[float] = [t - 0.5 for t in ticks]
    ticktext = [_short(edges[t]) for t in ticks]
    if below:
        x, ref_y, cur_y = [-2.0, *x], [0.0, *ref_y], [_share(below, cur_total), *cur_y]
        ranges = [f"&lt; {_short(edges[0])}", *ranges]
        tickvals, ticktext = [-2.0, *tickvals], ["below", *ticktext]
    if above:
        x, ref_y, cur_y = [*x, bins + 1.0], [*ref_y, 0.0], [*cur_y, _share(above, cur_total)]
        ranges = [*ranges, f"&gt; {_short(edges[-1])}"]
        tickvals, ticktext = [*tickvals, bins + 1.0], [*ticktext, "above"]
    bars = (ref_y if ref_total else None, cur_y if cur_total else None)
    figure = _pair_figure("overlay", 0.05, 0.55, x, bars, ranges, (tickvals, ticktext))
    return figure, caption


def _categorical_figure(data: Mapping[str, Any]) -> tuple[go.Figure | None, str]:
    categories = [_text(c) for c in _list(data.get("categories"))]
    reference = [_count(c) for c in _list(data.get("reference"))]
    current = [_count(c) for c in _list(data.get("current"))]
    unseen, missing = _count(data.get("unseen")), _count(data.get("missing"))
    if not (len(categories) == len(reference) == len(current)):
        raise ValueError("categories and counts differ in length")
    ref_total, cur_total = sum(reference), sum(current) + unseen
    ref_y, cur_y = _shares(reference, ref_total), _shares(current, cur_total)
    keep = sorted(
        sorted(range(len(categories)), key=lambda i: -max(ref_y[i], cur_y[i]))[:MAX_CATEGORIES]
    )
    dropped = [i for i in range(len(categories)) if i not in set(keep)]
    labels = [categories[i] for i in keep]
    ref_bars, cur_bars = [ref_y[i] for i in keep], [cur_y[i] for i in keep]
    if dropped:
        labels.append(f"({len(dropped)} other categories)")
        ref_bars.append(sum(ref_y[i] for i in dropped))
        cur_bars.append(sum(cur_y[i] for i in dropped))
    if unseen:
        labels.append(UNSEEN)
        ref_bars.append(0.0)
        cur_bars.append(_share(unseen, cur_total))
    unseen_values = _dict(data.get("unseen_values"))
    caption = (
        f"Share of non-missing values per category. Reference {_num(ref_total)} values; "
        f"current {_num(cur_total)} ({_num(unseen)} in categories never seen in training, "
        f"{_num(missing)} missing)."
    )
    if unseen_values:
        listed = ", ".join(
            f"<code>{_e(_text(k))}</code> ({_num(n)})" for k, n in unseen_values.items()
        )
        caption += f" Unseen values: {listed}."
    if not labels:
        return None, caption
    x = list(range(len(labels)))
    shown = [_plot_text(_cut(label)) for label in labels]
    full = [_plot_text(label) for label in labels]
    bars = (ref_bars if ref_total else None, cur_bars if cur_total else None)
    figure = _pair_figure("group", 0.2, 1.0, x, bars, full, (x, shown))
    return figure, caption


def _pair_figure(
    mode: str,
    gap: float,
    opacity: float,
    x: list[Any],
    bars: tuple[list[float] | None, list[float] | None],
    hover: list[str],
    ticks: tuple[list[Any], list[str]],
) -> Any:
    """Reference and current shares side by side (or overlaid) on one axis."""
    figure = go.Figure(layout=_layout(barmode=mode, bargap=gap))
    for name, values, colour in (("reference", bars[0], REFERENCE), ("current", bars[1], CURRENT)):
        if values is not None:
            figure.add_trace(_bars(name, x, values, hover, colour, opacity))
    figure.update_xaxes(tickmode="array", tickvals=ticks[0], ticktext=ticks[1])
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    return figure


def _timeline(page: _Page, points: list[Any] | None, config: Mapping[str, Any]) -> str:
    if points is None:
        return '<p class="note">The timeline is not part of this summary.</p>'
    points = [p for p in points if isinstance(p, Mapping)]
    if not points:
        return '<p class="note">No time buckets in this period.</p>'
    x = [_plot_text(_utc(p.get("bucket_start"))) for p in points]
    latency = [_dict(p.get("latency_ms")) for p in points]
    quality = [_dict(p.get("quality")) for p in points]
    charts = [
        ("Requests per bucket", "requests", [("requests", [p.get("requests") for p in points])]),
        (
            "Latency (ms)",
            "latency",
            [(q, [m.get(q) for m in latency]) for q in ("p50", "p95", "p99")],
        ),
        (
            "Error rates",
            "rate",
            [
                ("5xx", [p.get("error_rate") for p in points]),
                ("4xx", [p.get("client_error_rate") for p in points]),
            ],
        ),
        (
            "Share of features drifted",
            "share",
            [("drift share", [p.get("drift_share") for p in points])],
        ),
        (
            "Quality from feedback",
            "score",
            [(QUALITY[m], [q.get(m) for q in quality]) for m in SCORES],
        ),
        (
            "Error from feedback",
            "error",
            [(QUALITY[m], [q.get(m) for q in quality]) for m in ERRORS],
        ),
    ]
    blocks = []
    for title, kind, series in charts:
        figure = _line_figure(x, series, kind, config)
        if figure is None:
            continue
        blocks.append(
            f'<section class="series"><h4>{title}</h4>{page.figure(figure, title)}</section>'
        )
    if not blocks:
        return '<p class="note">Nothing measured over time.</p>'
    return (
        f'<p class="caption">{len(points)} time buckets; times in UTC.</p>'
        '<div class="grid">' + "".join(blocks) + "</div>"
    )


def _line_figure(
    x: list[str],
    series: list[tuple[str, list[Any]]],
    kind: str,
    config: Mapping[str, Any],
) -> go.Figure | None:
    cleaned = [(name, [_number(v) for v in values]) for name, values in series]
    cleaned = [(name, values) for name, values in cleaned if any(v is not None for v in values)]
    if not cleaned:
        return None
    figure = go.Figure(layout=_layout())
    palette = ["#4c78a8", "#e8750a", "#b5179e"]
    for i, (name, values) in enumerate(cleaned):
        if kind == "requests":
            figure.add_trace(go.Bar(x=x, y=values, name=name, marker_color=REFERENCE))
        else:
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=values,
                    name=name,
                    mode="lines+markers",
                    line={"color": palette[i % len(palette)]},
                    connectgaps=False,
                )
            )
    if kind in ("rate", "share"):
        figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    if kind in ("share", "score"):
        figure.update_yaxes(range=[0, 1.05])
    threshold = _number(config.get("drift_share"))
    if kind == "share" and threshold is not None:
        figure.add_hline(y=threshold, line_dash="dash", line_color="#8a1c12")
    if kind in ("requests", "latency", "error"):
        figure.update_yaxes(rangemode="tozero")
    figure.update_layout(showlegend=len(cleaned) > 1)
    return figure


# -- plotly -----------------------------------------------------------------------------


class _Page:
    """Numbers the charts of one page and turns each into a div and its figure JSON."""

    def __init__(self) -> None:
        self.count = 0

    def figure(self, figure: go.Figure | None, label: str) -> str:
        if figure is None:
            return ""
        self.count += 1
        ident = f"chart-{self.count}"
        spec = _json_in_script(str(pio.to_json(figure, validate=False)))
        return (
            f'<div class="plot" id="{ident}" data-figure="{ident}-data" role="img" '
            f'aria-label="{_e(label)}"></div>'
            f'<script type="application/json" id="{ident}-data">{spec}</script>'
        )


def _layout(**extra: Any) -> go.Layout:
    axis = {"gridcolor": "#e5e7eb", "linecolor": "#9ca3af", "zeroline": False}
    return go.Layout(
        template="none",
        height=260,
        margin={"l": 48, "r": 12, "t": 28, "b": 48},
        font={"family": "system-ui, sans-serif", "size": 12, "color": "#1f2937"},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        xaxis=axis,
        yaxis=axis,
        hovermode="x",
        **extra,
    )


def _bars(
    name: str,
    x: Sequence[float],
    y: Sequence[float],
    hover: Sequence[str],
    color: str,
    opacity: float,
) -> go.Bar:
    return go.Bar(
        x=x,
        y=y,
        name=name,
        marker_color=color,
        opacity=opacity,
        customdata=hover,
        hovertemplate="%{customdata}: %{y:.1%}",
    )


# -- values -----------------------------------------------------------------------------


def _severity(f: Mapping[str, Any]) -> tuple[int, float, str]:
    """Drifted first, then no drift, then too little data; the most shifted first."""
    rank = {DRIFT: 0, NO_DRIFT: 1, NOT_ENOUGH: 2}.get(_text(f.get("verdict")), 2)
    test = _text(f.get("test"))
    score = _number(_dict(f.get("values")).get(test))
    shift = math.inf if score is None else score if test.endswith("p_value") else -score
    return rank, shift, _text(f.get("feature"))


def _test_columns(features: Iterable[Mapping[str, Any]]) -> list[str]:
    seen: set[str] = set()
    for f in features:
        seen.update(_text(k) for k in _dict(f.get("values")))
        if f.get("test") is not None:
            seen.add(_text(f.get("test")))
    known = [t for t in TESTS if t in seen]
    return known + sorted(seen - set(known))


def _quality_text(quality: Mapping[str, Any]) -> str:
    labeled = _number(quality.get("labeled"))
    if not labeled:
        return DASH + " (no feedback)"
    metrics = [f"{QUALITY[k]} {_num(quality.get(k))}" for k in QUALITY if k in quality]
    return f"{_num(quality.get('labeled'))} labelled" + (
        ": " + ", ".join(metrics) if metrics else ""
    )


def _headline_quality(quality: Mapping[str, Any]) -> str:
    for key in ("accuracy", "f1", "mae", "rmse"):
        if _number(quality.get(key)) is not None:
            return f"{QUALITY[key]} {_num(quality.get(key))}"
    return DASH


def _verdict(verdict: Any) -> str:
    if verdict is None:
        return DASH
    text = _text(verdict)
    return f'<span class="verdict {VERDICT_CLASS.get(text, "na")}">{_e(text)}</span>'


def _fact(name: str, value: str) -> str:
    return f'<tr><th scope="row">{name}</th><td>{value}</td></tr>'


def _test_name(test: Any) -> str:
    text = _text(test)
    return TESTS.get(text, text) if test is not None else DASH


def _shares(counts: Sequence[int], total: int) -> list[float]:
    return [_share(c, total) for c in counts]


def _share(count: int, total: int) -> float:
    """A proportion, rounded to keep figure JSON small (a millionth is below a pixel)."""
    return round(count / total, 6) if total else 0.0


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _count(value: Any) -> int:
    number = _number(value)
    return int(number) if number is not None and number > 0 else 0


def _num(value: Any) -> str:
    number = _number(value)
    if number is None:
        return DASH
    if isinstance(value, int):
        return f"{value:,}"
    return f"{number:.4g}"


def _pct(value: Any) -> str:
    number = _number(value)
    return DASH if number is None else f"{number:.1%}"


def _ms(value: Any) -> str:
    number = _number(value)
    return DASH if number is None else f"{number:.3g} ms"


def _duration(value: Any) -> str:
    seconds = _number(value)
    if seconds is None:
        return DASH
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


def _utc(value: Any) -> str:
    """A bucket start as naive UTC text (plotly ignores offsets: show UTC, say so)."""
    text = _text(value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(sep=" ")


def _short(value: float) -> str:
    return f"{value:.4g}"


def _cut(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _e(text: str) -> str:
    """Data as HTML text or attribute value."""
    return html.escape(text, quote=True)


def _plot_text(text: str) -> str:
    """Data as plotly label text: plotly draws a subset of HTML tags and decodes entities,
    so escaping shows the text as it is."""
    return html.escape(text, quote=False)


def _json_in_script(text: str) -> str:
    """JSON that cannot end its ``<script>`` element early (nor open a comment): plotly
    already writes ``<`` as ``\\u003c``; this keeps it so whatever plotly does. A ``<`` in
    JSON can only be inside a string, where the escape means the same."""
    return text.replace("<", "\\u003c")


def _plotly_js() -> str:
    """The plotly.js bundle, checked to be safe to inline as it is."""
    code = str(get_plotlyjs())
    lowered = code.lower()
    if "</script" in lowered or "<!--" in lowered:  # not in any release so far
        raise RuntimeError("this plotly.js bundle cannot be inlined in a <script> element")
    return code


LOADER = """
(function () {
  if (typeof Plotly === "undefined") { return; }
  function draw(el) {
    if (el.getAttribute("data-drawn") || el.closest("details:not([open])")) { return; }
    el.setAttribute("data-drawn", "1");
    var spec = JSON.parse(document.getElementById(el.getAttribute("data-figure")).textContent);
    Plotly.newPlot(el, spec.data, spec.layout, {displaylogo: false, responsive: true});
  }
  function drawIn(root) { root.querySelectorAll(".plot").forEach(draw); }
  drawIn(document);
  document.querySelectorAll("details").forEach(function (d) {
    d.addEventListener("toggle", function () { if (d.open) { drawIn(d); } });
  });
})();
"""

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
