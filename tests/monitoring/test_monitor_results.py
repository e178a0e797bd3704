"""Typed monitor results say in JSON exactly what the dict summaries said (the HTTP API,
``--json`` and the console read it): compared with JSON captured from the dict code."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from tests.monitoring.summary_yard import build, steady, summary_of

from modelyard import Yard

DATA = Path(__file__).parent / "data"


def _json(summary: Any) -> bytes:
    value = summary.to_json() if hasattr(summary, "to_json") else summary
    return orjson.dumps(steady(value), option=orjson.OPT_INDENT_2)


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
    assert _json(summary_of(built, timeline=False)) == rolling
    assert _json(summary_of(built, histograms=True, timeline=True)) == full
