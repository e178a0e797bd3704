"""Typed monitor results say in JSON exactly what the dict summaries said (the HTTP API,
``--json`` and the console read it): compared with JSON captured from the dict code."""

from __future__ import annotations

import gzip
import math
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from modelyard import Yard
from modelyard.control.signals import endpoint_metrics
from modelyard.domain.monitor_results import Quality
from modelyard.domain.monitoring import NO_REFERENCE
from tests.monitoring.summary_yard import build, steady, summary_of

DATA = Path(__file__).parent / "data"


def _json(summary: Any) -> bytes:
    value = summary.to_json() if hasattr(summary, "to_json") else summary
    return orjson.dumps(steady(value), option=orjson.OPT_INDENT_2)


def _same(made: bytes, captured: bytes) -> bool:
    """Equal JSON, floats to 1e-9: the last digit of a mean over 569 rows moves with the
    order numpy's SIMD sums in, which differs between numpy builds and CPUs."""
    return _close(orjson.loads(made), orjson.loads(captured))


def _close(made: Any, captured: Any) -> bool:
    if isinstance(made, float) and isinstance(captured, float):
        return math.isclose(made, captured, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(made, dict) and isinstance(captured, dict):
        return made.keys() == captured.keys() and all(
            _close(made[key], captured[key]) for key in made
        )
    if isinstance(made, list) and isinstance(captured, list):
        return len(made) == len(captured) and all(map(_close, made, captured))
    return type(made) is type(captured) and made == captured


@pytest.fixture
def built(
    sqlite_yard: Yard,
    logreg: Pipeline,
    forest: RandomForestClassifier,
    cancer: tuple[pd.DataFrame, pd.Series],
) -> Yard:
    build(sqlite_yard, logreg, forest, cancer)
    return sqlite_yard


def test_the_json_of_a_summary_is_what_it_was(built: Yard) -> None:
    rolling = (DATA / "summary_rolling.json").read_bytes()
    full = gzip.decompress((DATA / "summary_full.json.gz").read_bytes())
    assert _same(_json(summary_of(built, timeline=False)), rolling)
    assert _same(_json(summary_of(built, histograms=True, timeline=True)), full)


def test_readers_read_attributes(built: Yard) -> None:
    summary = summary_of(built, timeline=False)
    busiest, bare = summary.versions
    assert summary.version(None) is busiest
    assert summary.version("cancer@3") is bare
    assert summary.version("cancer@9") is None
    assert (busiest.requests, busiest.traffic.attempts, busiest.top_drifted) == (
        2,
        5,
        ["mean radius"],
    )
    assert (bare.drift, bare.drift_share, bare.top_drifted) == (None, None, [])
    assert bare.drift_unavailable == NO_REFERENCE
    [shadow] = summary.shadows
    assert [c.primary for c in shadow.compared] == ["cancer@1"]


def test_the_controller_reads_the_same_numbers(built: Yard) -> None:
    summary = summary_of(built, timeline=False)
    metrics = endpoint_metrics(summary, "cancer@1")
    version = summary.to_json()["versions"][0]
    assert metrics["requests"] == version["requests"]
    assert metrics["attempts"] == version["requests"] + sum(version["errors"].values())
    assert metrics["p95_ms"] == version["latency_ms"]["p95"]
    assert metrics["drift_share"] == version["drift_share"]
    assert metrics["output_drift"] in (0.0, 1.0)
    assert metrics["feedback_coverage"] == version["feedback"]["coverage"]
    assert metrics["accuracy"] == version["quality"]["accuracy"]
    assert metrics["mae"] is None
    assert endpoint_metrics(summary, "cancer@9")["requests"] == 0.0


def test_quality_says_the_metrics_it_measured_even_when_none() -> None:
    one = Quality(labeled=1, kind="regression", mae=0.5, rmse=0.5)
    assert one.to_json() == {"labeled": 1, "mae": 0.5, "rmse": 0.5, "r2": None}
    assert one.metric("accuracy") is None
    assert Quality().to_json() == {"labeled": 0}
