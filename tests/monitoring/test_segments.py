"""Segment windows: rows labelled by segment (bounded), counted apart, merged by addition."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest

from modelyard.domain.segments import SegmentSpec
from modelyard.monitoring.profile import categorical_profile, numeric_profile
from modelyard.monitoring.segments import Segmenter, count_segments, quartile_cuts
from modelyard.monitoring.window import Window
from modelyard.runtime.inputs import Columns

COUNTRIES = ["FR", "DE", "IT", "ES", "NL"]


@pytest.fixture
def profile() -> dict:
    rng = np.random.default_rng(0)
    countries = pd.Series(rng.choice(COUNTRIES, p=[0.4, 0.3, 0.15, 0.1, 0.05], size=2000))
    return {
        "features": {
            "age": numeric_profile(rng.uniform(0, 100, size=2000), 50),
            "country": categorical_profile(countries),
        },
        "output": categorical_profile(pd.Series(["0", "1"])),
    }


def _columns(rows: int, seed: int) -> Columns:
    rng = np.random.default_rng(seed)
    country = rng.choice([*COUNTRIES, "PL", None], size=rows).astype(object)
    age = rng.uniform(0, 100, size=rows)
    return Columns(("age", "country"), rows, arrays={"age": age, "country": country})


def _counted(profile: dict, columns: Columns, seed: int) -> Window:
    window = Window.empty(profile, profile["output"])
    segmenter = Segmenter(SegmentSpec(("country", "age"), top=3), profile)
    predictions = np.random.default_rng(seed).choice([0, 1], size=columns.rows)
    count_segments(
        window,
        segmenter,
        columns,
        predictions,
        None,
        np.full(columns.rows, 5.0),
        np.arange(columns.rows),
    )
    return window


def test_categories_beyond_the_top_are_other_and_none_is_missing(profile) -> None:
    segmenter = Segmenter(SegmentSpec(("country",), top=2), profile)
    country = np.array(["FR", "DE", "IT", "PL", None, float("nan")], dtype=object)
    labels = segmenter.labels(Columns(("country",), 6, arrays={"country": country}))
    assert labels["country"].tolist() == ["FR", "DE", "other", "other", "missing", "missing"]


def test_rows_without_the_segmenting_column_are_missing(profile) -> None:
    columns = Columns(("age",), 4, arrays={"age": np.array([1.0, 20.0, 60.0, 90.0])})
    window = _counted(profile, columns, 3)
    parts = window.segments["country"]
    assert {value: part.rows for value, part in parts.items()} == {"missing": 4}
    assert sum(part.rows for part in window.segments["age"].values()) == 4


def test_outputs_that_cannot_be_counted_cost_no_segment_its_rows(profile) -> None:
    columns = _columns(300, 4)
    odd = np.array([1, "a", None] * 100, dtype=object)  # np.unique cannot sort these
    window = Window.empty(profile, profile["output"])
    segmenter = Segmenter(SegmentSpec(("country", "age"), top=3), profile)
    latencies = np.full(300, 5.0)
    count_segments(window, segmenter, columns, odd, None, latencies, np.arange(300))
    for parts in window.segments.values():
        assert sum(part.rows for part in parts.values()) == 300
        assert sum(part.requests for part in parts.values()) == 300


def test_numbers_are_cut_at_the_reference_quartiles(profile) -> None:
    cuts = quartile_cuts(profile["features"]["age"])
    assert cuts == pytest.approx([25, 50, 75], abs=4)
    segmenter = Segmenter(SegmentSpec(("age",)), profile)
    ages = np.array([1.0, 40.0, 60.0, 99.0, np.nan, 1e9])
    labels = segmenter.labels(Columns(("age",), 6, numbers=ages[:, None]))
    assert labels["age"].tolist() == ["q1", "q2", "q3", "q4", "missing", "q4"]


def test_a_feature_the_profile_does_not_know_splits_nothing(profile) -> None:
    segmenter = Segmenter(SegmentSpec(("plan", "country")), profile)
    assert segmenter.features == ["country"]


def test_segments_stay_bounded_and_add_up_to_the_window(profile) -> None:
    window = _counted(profile, _columns(3000, 1), 1)
    assert set(window.segments["country"]) == {"FR", "DE", "IT", "other", "missing"}
    assert set(window.segments["age"]) <= {"q1", "q2", "q3", "q4"}
    for parts in window.segments.values():
        assert sum(p.rows for p in parts.values()) == 3000
        assert sum(p.features["age"].total for p in parts.values()) == 3000


def test_each_row_gets_its_segments_for_the_log(profile) -> None:
    window = Window.empty(profile, profile["output"])
    segmenter = Segmenter(SegmentSpec(("country", "age")), profile)
    columns = Columns(
        ("age", "country"),
        2,
        arrays={"age": np.array([10.0, 90.0]), "country": np.array(["FR", None], dtype=object)},
    )
    texts = count_segments(
        window, segmenter, columns, np.array([0, 1]), None, np.array([3.0]), np.array([0, 0])
    )
    assert [orjson.loads(t) for t in texts if t] == [
        {"country": "FR", "age": "q1"},
        {"country": "missing", "age": "q4"},
    ]
    assert window.segments["country"]["FR"].requests == 1


def test_merging_two_replicas_equals_counting_all_rows_in_one(profile) -> None:
    first, second = _columns(800, 2), _columns(500, 3)
    both = Columns.concat([first, second])
    a, b = _counted(profile, first, 2), _counted(profile, second, 3)
    rng = np.random.default_rng(2)
    predictions = np.concatenate(
        [rng.choice([0, 1], size=800), np.random.default_rng(3).choice([0, 1], size=500)]
    )
    whole = Window.empty(profile, profile["output"])
    count_segments(
        whole,
        Segmenter(SegmentSpec(("country", "age"), top=3), profile),
        both,
        predictions,
        None,
        np.full(1300, 5.0),
        np.arange(1300),
    )
    merged = Window.empty(profile, profile["output"])
    merged.merge(a)
    merged.merge(b)
    assert merged.to_json()["segments"] == whole.to_json()["segments"]
    again = Window.from_json(profile, profile["output"], merged.to_json())
    assert again.to_json() == merged.to_json()
    assert a.segments["country"]["FR"].rows < merged.segments["country"]["FR"].rows  # a copy
