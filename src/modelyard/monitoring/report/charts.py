"""Reference-vs-current histograms and the timeline, as plotly figures in the page."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import plotly.graph_objects as go

from modelyard.domain.histograms import CategoricalHistogram, Histogram, NumericHistogram
from modelyard.domain.monitor_results import (
    DriftReport,
    FeatureDrift,
    Timeline,
    TimelinePoint,
    Traffic,
)
from modelyard.domain.monitoring import DriftConfig
from modelyard.formatting import as_number, num, short
from modelyard.monitoring.drift import UNSEEN
from modelyard.monitoring.report.embed import Charts
from modelyard.monitoring.report.values import (
    QUALITY,
    cut,
    drift_order,
    esc,
    plot_text,
    share_of,
    shares_of,
    utc,
    verdict_badge,
)

EXPANDED_HISTOGRAMS = 12  # feature charts shown open; the rest sit in a closed <details>
MAX_CATEGORIES = 30  # bars per categorical chart (the rest are summed into one)
REFERENCE = "#4c78a8"
CURRENT = "#e8750a"
SCORES = ("accuracy", "f1", "roc_auc")  # plotted over time on a 0–1 axis
ERRORS = ("mae", "rmse")  # plotted over time in the target's unit


def histogram_grid(
    page: Charts,
    charts: Mapping[str, Histogram] | None,
    drift: DriftReport | None,
    expanded: int,
) -> str:
    if charts is None:
        return '<p class="note">Histograms are not part of this summary.</p>'
    if not charts:
        return '<p class="note">No reference profile to compare with.</p>'
    judged = {f.feature: f for f in drift.features} if drift else {}
    order = sorted(
        charts,
        key=lambda name: drift_order(judged[name]) if name in judged else (3, 0.0, name),
    )
    blocks = [_histogram(page, name, charts[name], judged.get(name)) for name in order]
    shown, hidden = blocks[:expanded], blocks[expanded:]
    out = '<div class="grid">' + "".join(shown) + "</div>"
    if hidden:
        out += (
            f'<details class="more"><summary>{len(hidden)} more features</summary>'
            f'<div class="grid">{"".join(hidden)}</div></details>'
        )
    return out


def _histogram(page: Charts, name: str, chart: Histogram, judged: FeatureDrift | None) -> str:
    title = f"<code>{esc(name)}</code>"
    if judged is not None:
        title += f" {verdict_badge(judged.verdict)}"
    if isinstance(chart, NumericHistogram):
        figure, caption = _numeric_figure(chart)
    else:
        figure, caption = _categorical_figure(chart)
    chart_html = page.figure(figure, f"Reference and current distribution of {name}")
    if not chart_html:
        chart_html = '<p class="note">No chart.</p>'
    return (
        f'<section class="feature"><h4>{title}</h4>{chart_html}'
        f'<p class="caption">{caption}</p></section>'
    )


def _numeric_figure(data: NumericHistogram) -> tuple[go.Figure | None, str]:
    edges, reference, current = data.edges, data.reference, data.current
    below, above = data.below, data.above
    bins = len(reference)
    ref_total, cur_total = sum(reference), sum(current) + below + above
    caption = (
        f"Share of non-missing values per reference quantile bin ({bins} bins). "
        f"Reference {num(ref_total)} values; current {num(cur_total)} "
        f"({num(below)} below and {num(above)} above the reference range, "
        f"{num(data.missing)} missing)."
    )
    if bins == 0:
        return None, caption + " The reference has no values to bin."
    # bins sit at 0 … bins-1 on a linear axis, ticks at bin boundaries show the edges;
    # values below and above the reference range get a bar of their own at either end
    x: list[float] = list(range(bins))
    ref_y, cur_y = shares_of(reference, ref_total), shares_of(current, cur_total)
    ranges = [
        f"[{short(edges[i])}, {short(edges[i + 1])}{']' if i == bins - 1 else ')'}"
        for i in range(bins)
    ]
    ticks = sorted({round(i * bins / 6) for i in range(7)})
    tickvals: list[float] = [t - 0.5 for t in ticks]
    ticktext = [short(edges[t]) for t in ticks]
    if below:
        x, ref_y, cur_y = [-2.0, *x], [0.0, *ref_y], [share_of(below, cur_total), *cur_y]
        ranges = [f"&lt; {short(edges[0])}", *ranges]
        tickvals, ticktext = [-2.0, *tickvals], ["below", *ticktext]
    if above:
        x, ref_y, cur_y = [*x, bins + 1.0], [*ref_y, 0.0], [*cur_y, share_of(above, cur_total)]
        ranges = [*ranges, f"&gt; {short(edges[-1])}"]
        tickvals, ticktext = [*tickvals, bins + 1.0], [*ticktext, "above"]
    bars = (ref_y if ref_total else None, cur_y if cur_total else None)
    figure = _pair_figure("overlay", 0.05, 0.55, x, bars, ranges, (tickvals, ticktext))
    return figure, caption


def _categorical_figure(data: CategoricalHistogram) -> tuple[go.Figure | None, str]:
    categories, unseen = data.categories, data.unseen
    ref_total, cur_total = sum(data.reference), sum(data.current) + unseen
    ref_y, cur_y = shares_of(data.reference, ref_total), shares_of(data.current, cur_total)
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
        cur_bars.append(share_of(unseen, cur_total))
    caption = (
        f"Share of non-missing values per category. Reference {num(ref_total)} values; "
        f"current {num(cur_total)} ({num(unseen)} in categories never seen in training, "
        f"{num(data.missing)} missing)."
    )
    if data.unseen_values:
        listed = ", ".join(
            f"<code>{esc(value)}</code> ({num(n)})" for value, n in data.unseen_values.items()
        )
        caption += f" Unseen values: {listed}."
    if not labels:
        return None, caption
    x = list(range(len(labels)))
    shown = [plot_text(cut(label)) for label in labels]
    full = [plot_text(label) for label in labels]
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


def gapped(
    points: Sequence[TimelinePoint], seconds: int
) -> list[tuple[datetime, TimelinePoint | None]]:
    """The points in time order, with an empty slot one bucket after each point that the
    next does not follow within a bucket: plotly breaks a line at an empty value, and would
    otherwise join the points either side of a stretch with no window by one straight line."""
    step = timedelta(seconds=max(seconds, 1))
    slots: list[tuple[datetime, TimelinePoint | None]] = []
    for point in sorted(points, key=lambda p: p.bucket_start):
        if slots and point.bucket_start - slots[-1][0] > step * 1.5:
            slots.append((slots[-1][0] + step, None))
        slots.append((point.bucket_start, point))
    return slots


def timeline_grid(
    page: Charts,
    timeline: Timeline | None,
    config: DriftConfig,
    period: tuple[datetime, datetime],
) -> str:
    if timeline is None:
        return '<p class="note">The timeline is not part of this summary.</p>'
    if not timeline.points:
        return '<p class="note">No time buckets in this period.</p>'
    slots = gapped(timeline.points, timeline.seconds)
    points = [p for _, p in slots]
    x = [plot_text(utc(at)) for at, _ in slots]
    span = [plot_text(utc(period[0])), plot_text(utc(period[1]))]

    def measured(read: Callable[[Traffic], float | None]) -> list[float | None]:
        return [None if p is None or p.traffic is None else read(p.traffic) for p in points]

    def each(read: Callable[[TimelinePoint], float | None]) -> list[float | None]:
        return [None if p is None else read(p) for p in points]

    def realized(metric: str) -> list[float | None]:
        return each(lambda p: p.quality.metric(metric))

    def estimated(metric: str) -> list[float | None]:
        return each(lambda p: (p.estimated or {}).get(metric))

    charts = [
        ("Requests per bucket", "requests", [("requests", measured(lambda t: t.requests))]),
        (
            "Latency (ms)",
            "latency",
            [
                ("p50", measured(lambda t: t.latency_ms.p50)),
                ("p95", measured(lambda t: t.latency_ms.p95)),
                ("p99", measured(lambda t: t.latency_ms.p99)),
            ],
        ),
        (
            "Error rates",
            "rate",
            [
                ("5xx", measured(lambda t: t.error_rate)),
                ("4xx", measured(lambda t: t.client_error_rate)),
            ],
        ),
        (
            "Share of features drifted",
            "share",
            [("drift share", each(lambda p: p.drift_share))],
        ),
        (
            "Quality from feedback",
            "score",
            [(QUALITY[m], realized(m)) for m in SCORES],
        ),
        (
            "Error from feedback",
            "error",
            [(QUALITY[m], realized(m)) for m in ERRORS],
        ),
        (
            "Quality estimated without labels",
            "score",
            [(QUALITY[m], estimated(m)) for m in SCORES],
        ),
        (
            "Error estimated without labels",
            "error",
            [(QUALITY[m], estimated(m)) for m in ERRORS],
        ),
    ]
    blocks = []
    for title, kind, series in charts:
        figure = _line_figure(x, series, kind, config)
        if figure is None:
            continue
        figure.update_xaxes(type="date", range=span)  # the whole period, gaps included
        blocks.append(
            f'<section class="series"><h4>{title}</h4>{page.figure(figure, title)}</section>'
        )
    if not blocks:
        return '<p class="note">Nothing measured over time.</p>'
    return (
        f'<p class="caption">{len(timeline.points)} time buckets; times in UTC. A break in a '
        "line: no window was recorded then.</p>"
        '<div class="grid">' + "".join(blocks) + "</div>"
    )


def _line_figure(
    x: list[str],
    series: list[tuple[str, list[float | None]]],
    kind: str,
    config: DriftConfig,
) -> go.Figure | None:
    cleaned = [(name, [as_number(v) for v in values]) for name, values in series]
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
    if kind == "share":
        figure.add_hline(y=config.drift_share, line_dash="dash", line_color="#8a1c12")
    if kind in ("requests", "latency", "error"):
        figure.update_yaxes(rangemode="tozero")
    figure.update_layout(showlegend=len(cleaned) > 1)
    return figure


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
