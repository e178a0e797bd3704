"""The monitor report: a self-contained HTML page from a real summary, and JSON."""

from __future__ import annotations

import html
import json
import math
import re
import uuid
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs
from sklearn.pipeline import Pipeline

from modelyard import Yard
from modelyard.domain.histograms import CategoricalHistogram, Histogram, NumericHistogram
from modelyard.domain.jsonable import plain
from modelyard.domain.monitor_results import (
    DRIFT,
    NO_DRIFT,
    DriftReport,
    FeatureDrift,
    Feedback,
    Latency,
    MonitorSummary,
    Quality,
    Timeline,
    TimelinePoint,
    Traffic,
    VersionMonitor,
)
from modelyard.domain.monitoring import DriftConfig
from modelyard.domain.signature import Signature
from modelyard.monitoring.recorder import Recorder
from modelyard.monitoring.report import render_html, render_json
from modelyard.monitoring.report.embed import Charts, plotly_js
from modelyard.monitoring.summary import summarize
from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import Columns, from_frame
from modelyard.runtime.runner import Output
from tests.kind_models import plan_model

BUCKET = 60
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOSTILE = ["<script>alert(1)</script>", "</script>", '"><img src=x onerror=alert(1)>']


class Page(HTMLParser):
    """What the report is made of: tags, scripts, figure references, table cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.open_details = 0
        self.plots_in_details: list[str] = []
        self.text: list[str] = []
        self._script: dict[str, str | None] | None = None
        self._script_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "script":
            self._script, self._script_text = attributes, []
        elif tag == "details":
            self.open_details += 1
        elif tag == "div" and attributes.get("class") == "plot" and self.open_details:
            self.plots_in_details.append(str(attributes["id"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._script_text)))
            self._script = None
        elif tag == "details":
            self.open_details -= 1

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script_text.append(data)
        else:
            self.text.append(data)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.tags
            if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def figures(self) -> dict[str, dict[str, Any]]:
        """Every chart's figure, checked to be referenced by exactly one plot div."""
        blocks = {
            str(a["id"]): json.loads(text, parse_constant=no_constants)
            for a, text in self.scripts
            if a.get("type") == "application/json"
        }
        plots = self.all("div", class_="plot")
        assert sorted(str(p["data-figure"]) for p in plots) == sorted(blocks)
        return blocks


def no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON (JSON.parse refuses it)")


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    assert page.open_details == 0
    return page


def assert_self_contained(text: str, page: Page) -> None:
    # plotly.js has map attribution links in its strings; the page around it has none
    outside = text.replace(plotly_js(), "")
    assert 'src="http' not in outside
    assert 'href="http' not in outside
    for _, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (name, value)
    assert not page.all("link")
    assert all(a.get("src") is None for a, _ in page.scripts)


# -- summaries made by hand, for what real traffic rarely shows -------------------------


def made_traffic(requests: int = 0, errors: dict[str, int] | None = None) -> Traffic:
    return Traffic(requests, requests, errors or {}, None, None, Latency())


def made_feature(name: str, verdict: str, values: dict[str, float], test: str) -> FeatureDrift:
    return FeatureDrift(name, "numeric", 100, 100, 0, values, test, 0.5, verdict)


def made_version(
    name: str,
    *,
    traffic: Traffic | None = None,
    features: list[FeatureDrift] | None = None,
    drift_unavailable: str | None = None,
    classes: dict[str, int] | None = None,
    histograms: dict[str, Histogram] | None = None,
    timeline: list[TimelinePoint] | None = None,
) -> VersionMonitor:
    """A version with what is given; no drift unless ``features`` are."""
    return VersionMonitor(
        version=name,
        traffic=traffic or made_traffic(),
        drift=DriftReport(features, None, DriftConfig()) if features is not None else None,
        drift_unavailable=drift_unavailable,
        classes=classes or {},
        histograms=histograms,
        quality=Quality(),
        feedback=Feedback(0, 0, None, None),
        timeline=None if timeline is None else Timeline(BUCKET, {}, timeline),
    )


def made_summary(*versions: VersionMonitor, endpoint: str = "e") -> MonitorSummary:
    return MonitorSummary(endpoint, START, START + timedelta(hours=1), DriftConfig(), versions)


# -- a real summary ---------------------------------------------------------------------


def record(
    yard: Yard,
    model: Pipeline,
    batches: list[pd.DataFrame],
    *,
    checked: bool = True,
    errors: int = 0,
) -> list[str]:
    """Predict each batch one bucket after the other through the real recorder."""
    signature = Signature.from_dict(yard.get_version("cancer@1").signature)
    now = START.timestamp()
    # errors are stamped by the clock: in the last batch's bucket (a bucket with errors and
    # no rows trips a 0/0 warning in the drift tests of the timeline)
    last = now + (len(batches) - 1) * BUCKET + 2
    recorder = Recorder(yard, bucket_seconds=BUCKET, clock=lambda: last)
    ids: list[str] = []
    for i, frame in enumerate(batches):
        if checked or i == 0:
            columns = from_frame(signature, frame)
        else:  # values the signature would refuse (unseen categories) still get counted
            arrays = {name: frame[name].to_numpy() for name in signature.names}
            columns = Columns(tuple(signature.names), len(frame), arrays=arrays)
        output = Output(model.predict(frame), model.predict_proba(frame))
        batch_ids = [uuid.uuid4().hex for _ in range(len(frame))]
        event = PredictionEvent(
            "cancer-api",
            "cancer@1",
            columns,
            output,
            batch_ids,
            latency_ms=8.0 + 20 * i,
            at=now + i * BUCKET + 1,
            # unseen categories are remembered by name only where raw inputs are sampled
            log_inputs=0.0 if checked else 1.0,
        )
        recorder.predicted(event)
        ids.extend(batch_ids)
    for _ in range(errors):
        recorder.failed("cancer-api", "cancer@1", 503)
    recorder.flush()
    return ids


def summary_of(yard: Yard) -> MonitorSummary:
    return summarize(
        yard.monitor,
        "cancer-api",
        START - timedelta(hours=1),
        START + timedelta(hours=1),
        histograms=True,
        timeline=True,
    )


@pytest.fixture
def traffic(
    sqlite_yard: Yard, logreg: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> MonitorSummary:
    """Normal rows, then rows with 'mean radius' shifted far up; feedback for most."""
    X, y = cancer
    sqlite_yard.register(logreg, "cancer", sample=X)
    sqlite_yard.create_endpoint("cancer-api", "cancer@1")
    shifted = X.iloc[300:].copy()
    shifted["mean radius"] += X["mean radius"].max()  # every shifted row above the range
    ids = record(sqlite_yard, logreg, [X.iloc[:300], shifted], errors=3)
    sqlite_yard.add_feedback(
        "cancer-api", [(pid, str(int(y.iloc[i]))) for i, pid in enumerate(ids[:400])]
    )
    return summary_of(sqlite_yard)


def test_report_of_real_traffic(
    traffic: MonitorSummary, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, _ = cancer
    version = traffic.versions[0]
    assert version.drift is not None
    assert version.drift.features  # the summary is the real thing
    text = render_html(traffic)
    path = tmp_path / "report.html"
    path.write_text(text, encoding="utf-8")
    page = parse(path.read_text(encoding="utf-8"))

    assert_self_contained(text, page)
    assert text.count(plotly_js()) == 1
    assert len(page.all("table")) >= 3  # versions, drift settings, facts, drift table
    assert page.all("th", scope="col")
    assert page.all("th", scope="row")
    words = " ".join(page.text)
    for name in X.columns:
        assert html.escape(name) in text
        assert name in words
    assert version.drift.verdict in words
    assert "cancer@1" in words

    rows = [r for r in page.all("tr") if r.get("class") == "drifted"]
    assert "mean radius" in version.drift.drifted_features
    assert version.drift.output is not None
    output_drifted = int(version.drift.output.drifted)
    assert len(rows) == len(version.drift.drifted_features) + output_drifted

    figures = page.figures()
    charts = [a for a in page.all("div", class_="plot")]
    # 5 series (requests, latency, errors, drift share, quality) + one chart per feature
    assert len(charts) == 5 + len(X.columns)
    assert len(page.plots_in_details) == len(X.columns) - 12
    for figure in figures.values():
        assert figure["data"]
        assert "layout" in figure

    # the drifted feature's chart is drawn open and first, with its above-range bar
    first_feature = charts[5]["data-figure"]
    radius = figures[str(first_feature)]
    assert "above" in radius["layout"]["xaxis"]["ticktext"]
    current = next(t for t in radius["data"] if t["name"] == "current")
    assert math.isclose(sum(current["y"]), 1.0, abs_tol=1e-4)
    assert version.histograms is not None
    radius_counts = version.histograms["mean radius"]
    assert isinstance(radius_counts, NumericHistogram)
    above = radius_counts.above
    assert above == len(X) - 300
    assert current["y"][-1] == pytest.approx(above / len(X), abs=1e-6)

    titles = {h4 for h4 in page.text}
    assert {"Latency (ms)", "Error rates", "Quality from feedback"} <= titles
    assert "Error from feedback" not in titles  # a classifier: no MAE/RMSE
    assert "Accuracy" in words
    assert "F1" in words


def test_report_json_is_the_summary(traffic: MonitorSummary) -> None:
    text = render_json(traffic)
    assert orjson.loads(text) == orjson.loads(orjson.dumps(plain(traffic.to_json())))
    assert text.startswith("{\n  ")


def test_hostile_names_are_escaped(
    sqlite_yard: Yard, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = cancer
    frame = X.iloc[:, :3].copy()
    frame.columns = HOSTILE
    frame["plan"] = np.where(y == 1, "basic", "<b>pro</b>")
    model = plan_model(frame, y)
    sqlite_yard.register(model, "cancer", sample=frame)
    sqlite_yard.create_endpoint("cancer-api", "cancer@1")
    unseen = frame.iloc[200:400].assign(plan="</script><script>alert(2)</script>")
    unseen["</script>"] += 100
    record(sqlite_yard, model, [frame.iloc[:200], unseen], checked=False)
    summary = summary_of(sqlite_yard)
    histograms = summary.versions[0].histograms
    assert histograms is not None
    assert set(histograms) == {*HOSTILE, "plan"}
    plan_counts = histograms["plan"]
    assert isinstance(plan_counts, CategoricalHistogram)
    assert plan_counts.unseen_values

    text = render_html(summary)
    page = parse(text)
    assert_self_contained(text, page)
    outside = text.replace(plotly_js(), "")
    for raw in ["<script>alert(1)", '"><img', "<img", "<b>pro</b>", "<script>alert(2)"]:
        assert raw not in outside
    for name in HOSTILE:
        assert html.escape(name) in text
        assert any(name in t for t in page.text)  # shown as written
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in text  # unseen, listed
    # one <script> element per opening tag: no value closed one early
    assert text.lower().count("</script") == text.lower().count("<script")
    inline = [s for a, s in page.scripts if a.get("type") is None]
    assert len(inline) == 2  # plotly.js and the loader
    # plotly draws labels as (a subset of) HTML: they reach it escaped, shown as written
    figures = page.figures()
    plan = next(f for f in figures.values() if f["data"][0].get("customdata", [""])[0] == "basic")
    assert plan["data"][0]["customdata"] == ["basic", "&lt;b&gt;pro&lt;/b&gt;", "(unseen)"]
    assert plan["layout"]["xaxis"]["ticktext"][1] == "&lt;b&gt;pro&lt;/b&gt;"


def test_hostile_text_anywhere_in_a_summary() -> None:
    """Every text a summary can hold reaches the page escaped (times are datetimes and the
    drift settings are checked test names: neither can carry markup)."""
    evil = '</script><script>alert("x")</script><!--'
    drifted = FeatureDrift(evil, evil, 100, 100, 0, {evil: 1.0}, evil, 0.1, DRIFT)
    odd = made_feature("f", evil, {"psi": 0.1}, "psi")  # a verdict outside the three
    histogram = CategoricalHistogram((evil, "a"), (3, 4), (1, 1), 1, {evil: 1}, missing=0)
    summary = made_summary(
        made_version(
            evil,
            traffic=made_traffic(3, {evil: 2}),
            features=[drifted, odd],
            classes={evil: 3},
            histograms={evil: histogram},
            timeline=[TimelinePoint(START, made_traffic(3), Quality())],
        ),
        made_version("m@2", drift_unavailable=evil),
        endpoint=evil,
    )
    assert summary.versions[0].top_drifted == [evil]
    text = render_html(summary)
    page = parse(text)
    outside = text.replace(plotly_js(), "")
    assert "<script>alert" not in outside
    assert "<!--" not in outside
    assert text.lower().count("</script") == text.lower().count("<script")
    # endpoint: title, heading; version: overview, heading; test: column, deciding test;
    # feature: drift table, most drifted, chart heading and label; one each for the rest
    assert outside.count(html.escape(evil)) == 16
    assert sum(evil in t for t in page.text) == 15  # shown as written (a label is no text)
    page.figures()


def test_figure_json_cannot_close_its_script() -> None:
    """Even text that reached a figure unescaped stays inside its <script> element."""
    figure = go.Figure(go.Bar(x=[0], y=[1], name="</script><!--<script>"))
    markup = Charts().figure(figure, "</script>")
    page = parse(markup)
    assert markup.count("</script") == 1  # the element's own end tag
    assert "<!--" not in markup
    ((attrs, payload),) = page.scripts
    assert attrs["type"] == "application/json"
    assert "<" not in payload
    assert json.loads(payload)["data"][0]["name"] == "</script><!--<script>"


def test_an_endpoint_without_traffic(sqlite_yard: Yard, logreg: Pipeline, cancer: Any) -> None:
    X, _ = cancer
    sqlite_yard.register(logreg, "cancer", sample=X)
    sqlite_yard.create_endpoint("cancer-api", "cancer@1")
    summary = summary_of(sqlite_yard)
    assert not summary.versions
    text = render_html(summary)
    page = parse(text)
    assert "No traffic" in " ".join(page.text)
    assert not page.scripts  # nothing to draw: no megabyte of plotly.js either
    assert_self_contained(text, page)
    assert orjson.loads(render_json(summary))["versions"] == []


def test_missing_values_render_as_dashes() -> None:
    nothing = made_version("m@1")  # asked for neither histograms nor a timeline
    empty = made_version(
        "m@2",
        traffic=Traffic(0, 0, {}, None, None, Latency(None, math.nan, math.inf)),
        histograms={
            "empty": NumericHistogram((), (), (), below=0, above=4, missing=1),
            "constant": NumericHistogram((5.0, 5.0), (10,), (0,), below=2, above=3, missing=0),
        },
        timeline=[TimelinePoint(START, None, Quality())],  # feedback only, none labelled
    )
    summary = made_summary(nothing, empty)
    text = render_html(summary)
    page = parse(text)
    words = " ".join(page.text)
    assert "— / — / —" in words  # latency: none, NaN and infinity
    assert "— (no feedback)" in words
    assert "The reference has no values to bin" in words
    assert "Histograms are not part of this summary" in words  # m@1
    assert "The timeline is not part of this summary" in words  # m@1
    assert "Nothing measured over time" in words  # m@2
    figures = page.figures()
    assert len(figures) == 1  # only the constant feature has something to draw
    (constant,) = figures.values()
    ticks = constant["layout"]["xaxis"]["ticktext"]
    assert (ticks[0], ticks[-1]) == ("below", "above")
    current = next(t for t in constant["data"] if t["name"] == "current")
    assert current["y"] == [0.4, 0.0, 0.6]  # below, the one bin, above
    assert orjson.loads(render_json(summary))["versions"][1]["latency_ms"]["p95"] is None


def test_many_features_collapse_after_the_drifted_ones() -> None:
    features = [
        made_feature(f"f{i:03d}", DRIFT if i >= 190 else NO_DRIFT, {"psi": i / 100}, "psi")
        for i in range(200)
    ]
    histogram = NumericHistogram((0.0, 1.0, 2.0), (5, 5), (3, 7), below=0, above=0, missing=0)
    version = made_version(
        "wide@1",
        traffic=made_traffic(1),
        features=features,
        histograms={f.feature: histogram for f in features},
    )
    page = parse(render_html(made_summary(version), expanded=12))
    plots = [str(p["id"]) for p in page.all("div", class_="plot")]
    assert len(plots) == 200
    assert len(page.plots_in_details) == 188
    names = [t for t in page.text if re.fullmatch(r"f\d{3}", t)]
    # the most drifted, the drift table, then the charts: drifted first, most shifted first
    top, table, charts = names[:5], names[5:205], names[205:]
    assert top == [f"f{i:03d}" for i in range(199, 194, -1)]
    assert table[:10] == [f"f{i:03d}" for i in range(199, 189, -1)]
    assert charts[:12] == [*(f"f{i:03d}" for i in range(199, 189, -1)), "f189", "f188"]
    assert "188 more features" in page.text


def test_one_small_plotly_bundle_however_many_charts(traffic: MonitorSummary) -> None:
    """plotly.js is in the page once, as plotly's basic bundle (bar and scatter are all the
    report draws): a report is no longer 4.8 MB of chart library before its first row."""
    edges = tuple(i / 100 for i in range(101))
    histograms: dict[str, Histogram] = {
        f"feature {i}": NumericHistogram(edges, (5,) * 100, (i % 7,) * 100, 1, 1, missing=0)
        for i in range(200)
    }
    wide = made_summary(made_version("w@1", histograms=histograms), endpoint="wide")
    for summary, charts, bound in ((traffic, 35, 1.6e6), (wide, 200, 3e6)):
        text = render_html(summary)
        assert text.count('class="plot"') == charts
        assert text.count("root.moduleName = factory()") == 1  # the bundle's UMD header
        assert text.count(plotly_js()) == 1
        assert len(text.encode()) < bound  # the full plotly.js alone is 4.8 MB


def test_the_bundle_is_of_the_plotly_js_that_plotly_writes_figures_for() -> None:
    version = re.compile(r"\* plotly\.js (?:\([^)]*\) )?v(\d+)\.\d+\.\d+")
    embedded, installed = version.search(plotly_js()), version.search(get_plotlyjs()[:300])
    assert embedded is not None
    assert installed is not None
    assert embedded.group(1) == installed.group(1)  # the same major version


def test_a_version_without_a_reference_profile_says_why() -> None:
    reason = "no reference sample: drift cannot be computed"
    said = made_version("m@1", traffic=made_traffic(2), drift_unavailable=reason)
    words = " ".join(parse(render_html(made_summary(said))).text)
    assert (
        "— (no reference sample: drift cannot be computed (add one with modelyard profile set"
        in words
    )
    unsaid = made_version("m@1", traffic=made_traffic(2))  # no drift, and no reason given
    assert "— (no reference profile)" in " ".join(parse(render_html(made_summary(unsaid))).text)


def test_a_stretch_without_windows_breaks_every_line() -> None:
    """Buckets at 0, 1, 5 and 6 minutes: the lines stop after 1 and start again at 5, rather
    than joining them with one diagonal, and the axis spans the whole period."""
    at = [START + timedelta(seconds=BUCKET * m) for m in (0, 1, 5, 6)]
    traffic = Traffic(10, 10, {"500": 1}, 0.1, 0.0, Latency(2.0, 3.0, 4.0))
    summary = made_summary(
        made_version(
            "m@1",
            traffic=traffic,
            timeline=[TimelinePoint(t, traffic, Quality(), drift_share=0.2) for t in at],
        )
    )
    figures = parse(render_html(summary)).figures().values()
    lines = [t for f in figures for t in f["data"] if t.get("mode") == "lines+markers"]
    assert lines  # latency, error rates, drift share
    for trace in lines:
        assert trace["y"][2] is None, trace["name"]  # one bucket after the last before the gap
        assert [v is None for v in trace["y"]].count(True) == 1, trace["name"]
        assert trace["connectgaps"] is False
    for figure in figures:
        assert figure["layout"]["xaxis"]["range"] == ["2025-03-01 12:00:00", "2025-03-01 13:00:00"]
