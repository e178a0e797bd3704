"""Histograms hold counts that fit their bins, and write the JSON the API always wrote."""

from __future__ import annotations

import pytest

from modelyard.domain.histograms import CategoricalHistogram, NumericHistogram


def test_a_numeric_histogram_has_one_more_edge_than_bins() -> None:
    two_bins = NumericHistogram((0.0, 1.0, 2.0), (5, 5), (3, 7), below=1, above=0, missing=2)
    assert two_bins.to_json() == {
        "type": "numeric",
        "edges": [0.0, 1.0, 2.0],
        "reference": [5, 5],
        "current": [3, 7],
        "below": 1,
        "above": 0,
        "missing": 2,
    }
    no_values = NumericHistogram((), (), (), below=0, above=4, missing=1)
    assert no_values.to_json()["edges"] == []
    with pytest.raises(ValueError, match="one more edge than bins"):
        NumericHistogram((0.0, 1.0), (5, 5), (3, 7), below=0, above=0, missing=0)
    with pytest.raises(ValueError, match="one count per bin"):
        NumericHistogram((0.0, 1.0, 2.0), (5, 5), (3,), below=0, above=0, missing=0)


def test_a_categorical_histogram_counts_every_category_twice() -> None:
    plans = CategoricalHistogram(("basic", "pro"), (3, 4), (1, 0), 2, {"gold": 2}, missing=0)
    assert plans.to_json() == {
        "type": "categorical",
        "categories": ["basic", "pro"],
        "reference": [3, 4],
        "current": [1, 0],
        "unseen": 2,
        "unseen_values": {"gold": 2},
        "missing": 0,
    }
    with pytest.raises(ValueError, match="a reference and a current count per category"):
        CategoricalHistogram(("basic", "pro"), (3,), (1, 0), 0, {}, missing=0)
