"""The monitor report opened from disk in Chromium with the network cut: every chart draws,
no script fails, nothing is fetched."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.integration.browser import chromium
from tests.kind_models import plan_model

from modelyard import Yard
from modelyard.domain.signature import Signature
from modelyard.monitoring.recorder import Recorder
from modelyard.monitoring.report import render_html
from modelyard.monitoring.summary import summarize_recent
from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.runner import Output

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def report(tmp_path: Path, cancer: tuple[pd.DataFrame, pd.Series]) -> Path:
    """A real report: a numeric and a categorical feature drift, feedback gives quality."""
    X, y = cancer
    X = X.assign(plan=np.where(y == 1, "basic", "pro"))
    model = plan_model(X, y)
    shifted = X.iloc[300:].assign(plan="basic")
    shifted["mean radius"] += X["mean radius"].max()
    with Yard(tmp_path / "yard") as yard:
        yard.register(model, "cancer", sample=X)
        yard.create_endpoint("cancer-api", "cancer@1")
        signature = Signature.from_dict(yard.get_version("cancer@1").signature)
        for i, frame in enumerate([X.iloc[:300], shifted]):
            stamp = time.time() - 600 + 120 * i
            ids = [uuid.uuid4().hex for _ in range(len(frame))]
            event = PredictionEvent(
                "cancer-api",
                "cancer@1",
                from_frame(signature, frame),
                Output(model.predict(frame), model.predict_proba(frame)),
                ids,
                latency_ms=5.0 + 10 * i,
                at=stamp,
                log_inputs=0.0,
            )
            recorder = Recorder(yard, clock=lambda stamp=stamp: stamp)
            recorder.predicted(event)
            recorder.flush()
            labels = y.iloc[frame.index[:100]]
            yard.add_feedback("cancer-api", list(zip(ids, labels.astype(str), strict=False)))
        summary = summarize_recent(
            yard.monitor, "cancer-api", timedelta(hours=1), histograms=True, bucket_seconds=60
        )
    path = tmp_path / "report.html"
    path.write_text(render_html(summary), encoding="utf-8")
    return path


def test_every_chart_draws_offline_with_no_script_error(browser: Any, report: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    fetched: list[str] = []

    def offline(route: Any) -> None:
        fetched.append(route.request.url)
        route.abort()

    context.route("http*://**", offline)  # as on a machine with no network
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.goto(report.as_uri())

    plots = tab.locator("div.plot")
    total = plots.count()
    hidden = tab.locator("details .plot").count()
    assert total == 5 + 31  # requests, latency, errors, drift share, quality; 31 features
    assert hidden == 31 - 12  # drawn when their section opens
    # Plotly draws a chart in more than one step (and more than one svg.main-svg), so wait
    # for the state itself rather than for the nth svg to exist
    tab.wait_for_function(
        "() => [...document.querySelectorAll('div.plot')]"
        ".filter(el => !el.closest('details')).every(el => el.querySelector('.main-svg'))",
        timeout=20_000,
    )
    assert tab.locator("details .plot .main-svg").count() == 0

    tab.locator("details.more > summary").click()
    tab.wait_for_function(
        "() => [...document.querySelectorAll('div.plot')]"
        ".every(el => el.querySelector('.main-svg') && el.clientHeight > 200)"
        " && document.querySelectorAll('section.feature .plot .trace.bars').length === 62",
        timeout=20_000,
    )
    # histograms draw their reference and current bars; timelines their points or bars
    assert tab.locator("section.feature .plot .trace.bars").count() == 2 * 31
    assert tab.locator("section.series .plot .trace").count() >= 5
    context.close()
    assert problems == [], problems
    assert fetched == []
