"""Mergeable sketches: counts in the reference bins, checked against numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.monitoring.sketch import (
    UNSEEN_VALUES_KEPT,
    CategoryCounts,
    NumericCounts,
    bin_counts,
    counts_for,
    counts_from_json,
    quantile_edges,
    sorted_finite,
)

EDGES = [0.0, 1.0, 2.0, 4.0]


def test_sorted_finite_counts_nan_none_and_infinities_as_missing() -> None:
    ordered, missing = sorted_finite([3.0, np.nan, None, 1.0, np.inf, -np.inf, 2.0])
    assert ordered.tolist() == [1.0, 2.0, 3.0]
    assert missing == 4
    assert sorted_finite(pd.array([2, None, 1], dtype="Int64"))[0].tolist() == [1.0, 2.0]
    ordered, missing = sorted_finite(np.array(["1", "x", 2], dtype=object))  # text: missing
    assert (ordered.tolist(), missing) == ([1.0, 2.0], 1)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("bins", [1, 7, 100])
def test_quantile_edges_are_numpys_linear_quantiles_deduplicated(seed: int, bins: int) -> None:
    rng = np.random.default_rng(seed)
    values = np.sort(np.round(rng.normal(size=int(rng.integers(2, 3000))), 1))  # with ties
    edges = quantile_edges(values, bins)
    if np.unique(values).size <= bins:  # few distinct values: one bin per value
        distinct = np.unique(values)
        np.testing.assert_array_equal(edges[:-1], distinct)
        assert edges[-1] == np.nextafter(distinct[-1], np.inf)
        return
    expected = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))
    np.testing.assert_allclose(edges, expected, rtol=1e-15, atol=1e-15)


def test_quantile_edges_equal_numpy_bit_for_bit() -> None:
    values = np.array([0.1, 0.7, 1.3, 1.9, 2.5])
    expected = np.quantile(values, np.linspace(0, 1, 4))
    np.testing.assert_array_equal(quantile_edges(values, 3), expected)


def test_quantile_edges_of_a_constant_are_one_narrow_bin() -> None:
    narrow = [5.0, float(np.nextafter(5.0, np.inf))]
    assert quantile_edges(np.array([5.0, 5.0, 5.0]), 10).tolist() == narrow
    assert quantile_edges(np.array([5.0]), 10).tolist() == narrow


def test_bin_counts_follow_np_histogram() -> None:
    rng = np.random.default_rng(0)
    values = np.sort(np.concatenate([rng.uniform(-1, 5, 1000), EDGES, [-2.0, 4.0, 9.0]]))
    counts, low, high = bin_counts(values, np.array(EDGES))
    expected, _ = np.histogram(values, bins=EDGES)
    assert counts.tolist() == expected.tolist()
    assert low == np.count_nonzero(values < 0.0)
    assert high == np.count_nonzero(values > 4.0)
    assert counts.sum() + low + high == values.size


def test_edges_and_the_closed_last_bin() -> None:
    sketch = NumericCounts.empty(EDGES)
    sketch.add(np.array([0.0, 1.0, 2.0, 4.0, 3.999]))
    assert sketch.counts.tolist() == [1, 1, 3]  # [0,1) [1,2) [2,4]
    assert (sketch.low, sketch.high, sketch.missing) == (0, 0, 0)


def test_numeric_counts_keep_out_of_range_and_missing_apart() -> None:
    sketch = NumericCounts.empty(EDGES)
    sketch.add(np.array([-3.0, -1.0, 0.5, 5.0, 7.0, np.nan, np.inf]))
    assert sketch.counts.tolist() == [1, 0, 0]
    assert (sketch.low, sketch.low_min, sketch.high, sketch.high_max) == (2, -3.0, 2, 7.0)
    assert (sketch.missing, sketch.total) == (2, 5)


def test_add_sorted_is_add() -> None:
    values = np.random.default_rng(1).normal(1.5, 2.0, size=500)
    values[::50] = np.nan
    one, other = NumericCounts.empty(EDGES), NumericCounts.empty(EDGES)
    one.add(values)
    other.add_sorted(*sorted_finite(values))
    assert one.to_json() == other.to_json()


def test_a_reference_without_values_puts_everything_above() -> None:
    sketch = NumericCounts.empty([])
    sketch.add(np.array([1.0, 2.0, np.nan]))
    assert (sketch.high, sketch.high_max, sketch.missing, sketch.counts.size) == (2, 2.0, 1, 0)


def test_numeric_merge_is_adding_everything_to_one() -> None:
    rng = np.random.default_rng(2)
    parts = [rng.normal(1.5, 3.0, size=300) for _ in range(3)]
    parts[1][:10] = np.nan
    merged = NumericCounts.empty(EDGES)
    for part in parts:
        sketch = NumericCounts.empty(EDGES)
        sketch.add(part)
        merged.merge(sketch)
    whole = NumericCounts.empty(EDGES)
    whole.add(np.concatenate(parts))
    assert merged.to_json() == whole.to_json()


def test_numeric_sketches_in_different_bins_do_not_merge() -> None:
    with pytest.raises(ValueError, match="different bins"):
        NumericCounts.empty(EDGES).merge(NumericCounts.empty([0.0, 1.0]))


def test_numeric_json_round_trip() -> None:
    sketch = NumericCounts.empty(EDGES)
    sketch.add(np.array([-1.0, 0.5, 3.0, 8.0, np.nan]))
    data = sketch.to_json()
    assert data == {
        "type": "numeric",
        "counts": [1, 0, 1],
        "missing": 1,
        "low": 1,
        "high": 1,
        "low_min": -1.0,
        "high_max": 8.0,
    }
    again = NumericCounts.from_json(EDGES, data)
    assert again.to_json() == data
    assert again.edges.tolist() == EDGES


def test_a_stored_sketch_in_other_bins_is_refused() -> None:
    data = NumericCounts.empty([0.0, 1.0]).to_json()
    with pytest.raises(ValueError, match="does not match the profile's bins"):
        NumericCounts.from_json(EDGES, data)


def test_category_counts_known_unseen_and_missing() -> None:
    sketch = CategoryCounts(frozenset({"basic", "pro", "3"}))
    sketch.add(pd.Series(["basic", "pro", "basic", None, np.nan, 3, "team", "team"]))
    assert sketch.counts == {"basic": 2, "pro": 1, "3": 1}
    assert (sketch.unseen, sketch.unseen_values, sketch.missing) == (2, {"team": 2}, 2)
    assert sketch.total == 6


def test_unseen_values_are_remembered_up_to_a_cap_and_all_counted() -> None:
    sketch = CategoryCounts(frozenset({"a"}))
    sketch.add([f"v{i}" for i in range(UNSEEN_VALUES_KEPT + 30)] + ["v0"])
    assert sketch.unseen == UNSEEN_VALUES_KEPT + 31
    assert len(sketch.unseen_values) == UNSEEN_VALUES_KEPT
    assert sketch.unseen_values["v0"] == 2  # a remembered value keeps counting


def test_category_merge_and_json_round_trip() -> None:
    known = frozenset({"a", "b"})
    one, other, whole = CategoryCounts(known), CategoryCounts(known), CategoryCounts(known)
    first, second = ["a", "x", None, "a"], ["b", "x", "y", "a"]
    one.add(first)
    other.add(second)
    whole.add(first + second)
    one.merge(other)
    assert one.to_json() == whole.to_json()
    assert one.to_json() == {
        "type": "categorical",
        "counts": {"a": 3, "b": 1},
        "unseen": 3,
        "unseen_values": {"x": 2, "y": 1},
        "missing": 1,
    }
    assert CategoryCounts.from_json(known, one.to_json()).to_json() == one.to_json()


def test_counts_for_a_profile_entry() -> None:
    numeric = {"type": "numeric", "edges": EDGES, "counts": [1, 1, 1]}
    categorical = {"type": "categorical", "frequencies": {"a": 3, "b": 1}}
    sketch = counts_for(numeric)
    assert isinstance(sketch, NumericCounts)
    assert (sketch.edges.tolist(), sketch.counts.tolist()) == (EDGES, [0, 0, 0])
    categories = counts_for(categorical)
    assert isinstance(categories, CategoryCounts)
    assert categories.known == {"a", "b"}
    stored = {"type": "categorical", "counts": {"a": 1}, "unseen": 0, "missing": 0}
    assert counts_from_json(categorical, stored).total == 1
