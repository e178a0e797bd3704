"""Monitor windows: sketches, latency histogram and counts that merge by addition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.monitoring.profile import categorical_profile, numeric_profile
from modelyard.monitoring.sketch import CategoryCounts, NumericCounts
from modelyard.monitoring.window import LATENCY_EDGES_MS, Window, add_output, output_profile


@pytest.fixture
def profile() -> dict:
    rng = np.random.default_rng(0)
    return {
        "features": {
            "age": numeric_profile(rng.normal(40, 10, size=1000), 20),
            "plan": categorical_profile(pd.Series(["basic", "pro", "basic"])),
        },
        "output": categorical_profile(pd.Series(["0", "1", "1"])),
    }


def _filled(profile: dict, seed: int) -> Window:
    rng = np.random.default_rng(seed)
    window = Window.empty(profile, profile["output"])
    window.features["age"].add(rng.normal(45, 10, size=200))
    window.features["plan"].add(rng.choice(["basic", "pro", "team", None], size=200))
    add_output(window, rng.choice([0, 1, 2], size=200))
    window.add_latencies(rng.lognormal(1.0, 1.0, size=20))
    window.rows, window.requests = 200, 20
    window.add_error(503)
    window.add_error(422, 2)
    return window


@pytest.mark.parametrize(
    "latencies",
    [
        np.random.default_rng(1).lognormal(1.0, 1.0, size=5000),
        np.random.default_rng(2).uniform(2.0, 40.0, size=5000),
        np.concatenate([np.random.default_rng(3).normal(3, 0.3, 4000), np.full(1000, 200.0)]),
    ],
    ids=["lognormal", "uniform", "bimodal"],
)
def test_latency_percentiles_from_the_histogram_are_close_to_numpy(latencies) -> None:
    window = Window.empty({}, None)
    window.add_latencies(latencies)
    for q in (50, 95, 99):
        # Observed over 50 seeds: within 10% (buckets are 23% wide, read in log space).
        assert window.percentile(q) == pytest.approx(np.percentile(latencies, q), rel=0.15)


def test_percentiles_of_nothing_and_beyond_the_last_bucket() -> None:
    window = Window.empty({}, None)
    assert window.percentile(50) is None
    window.add_latencies(np.array([90_000.0, 120_000.0]))
    assert window.percentile(99) == LATENCY_EDGES_MS[-1]


def test_empty_window_has_a_sketch_per_profiled_feature(profile) -> None:
    window = Window.empty(profile, profile["output"])
    assert set(window.features) == {"age", "plan"}
    assert isinstance(window.features["age"], NumericCounts)
    assert isinstance(window.features["plan"], CategoryCounts)
    assert isinstance(window.output, CategoryCounts)
    assert (window.rows, window.requests, window.error_count, int(window.latency.sum())) == (
        0,
        0,
        0,
        0,
    )


def test_merge_adds_every_count(profile) -> None:
    one, other = _filled(profile, 1), _filled(profile, 2)
    merged = Window.empty(profile, profile["output"])
    merged.merge(one)
    merged.merge(other)
    assert (merged.rows, merged.requests) == (400, 40)
    assert merged.errors == {"503": 2, "422": 4}
    assert (merged.error_count, merged.count_errors("5"), merged.count_errors("4")) == (6, 2, 4)
    assert merged.latency.tolist() == (one.latency + other.latency).tolist()
    age = merged.features["age"]
    assert age.total == one.features["age"].total + other.features["age"].total == 400
    assert merged.features["plan"].missing == (
        one.features["plan"].missing + other.features["plan"].missing
    )
    assert sum(merged.class_counts().values()) == 400


def test_class_counts_include_classes_the_reference_never_predicted(profile) -> None:
    window = Window.empty(profile, profile["output"])
    add_output(window, np.array([0, 1, 1, 2]))
    assert window.class_counts() == {"0": 1, "1": 2, "2": 1}


def test_a_numeric_output_is_counted_in_its_bins() -> None:
    spec = numeric_profile(np.linspace(0, 10, 101), 10)
    window = Window.empty({"features": {}}, spec)
    add_output(window, np.array([0.5, 5.5, 11.0]))
    assert isinstance(window.output, NumericCounts)
    assert (int(window.output.counts.sum()), window.output.high) == (2, 1)
    assert window.class_counts() == {}
    add_output(window, np.ones((2, 3)))  # multi-output: not sketched
    assert window.output.total == 3


def test_json_round_trip(profile) -> None:
    window = _filled(profile, 3)
    data = window.to_json()
    again = Window.from_json(profile, profile["output"], data)
    assert again.to_json() == data
    assert again.percentile(50) == window.percentile(50)


def test_stored_features_the_profile_lacks_are_ignored(profile) -> None:
    data = _filled(profile, 4).to_json()
    data["features"]["gone"] = {"type": "categorical", "counts": {}, "unseen": 1, "missing": 0}
    assert set(Window.from_json(profile, profile["output"], data).features) == {"age", "plan"}


def test_output_profile() -> None:
    stored = {"type": "categorical", "count": 2, "missing": 0, "frequencies": {"a": 2}}
    assert output_profile({"output": stored}, classification=True) == stored
    empty = output_profile({}, classification=True)
    assert empty == {"type": "categorical", "count": 0, "missing": 0, "frequencies": {}}
    assert output_profile({"output": None}, classification=False) is None
