"""Reference profiles: quantile bins for numbers, frequencies for categories."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from modelyard import NoReferenceWarning, Yard
from modelyard.domain.signature import infer_signature
from modelyard.monitoring.profile import build_profile, categorical_profile, numeric_profile


def test_numeric_profile_has_equal_share_quantile_bins() -> None:
    values = np.random.default_rng(0).normal(size=1000)
    profile = numeric_profile(values, 100)
    assert len(profile["edges"]) == 101
    assert len(profile["counts"]) == 100
    assert sum(profile["counts"]) == profile["count"] == 1000
    assert set(profile["counts"]) == {10}
    assert profile["edges"] == sorted(profile["edges"])
    assert (profile["edges"][0], profile["edges"][-1]) == (values.min(), values.max())
    assert profile["mean"] == pytest.approx(values.mean())


def test_missing_values_are_counted_apart() -> None:
    values = np.array([1.0, 2.0, np.nan, 3.0, np.nan, 4.0])
    profile = numeric_profile(values, 2)
    assert (profile["count"], profile["missing"]) == (4, 2)
    assert sum(profile["counts"]) == 4
    assert (profile["min"], profile["max"]) == (1.0, 4.0)


def test_ties_merge_bins_but_keep_every_value() -> None:
    values = np.array([0.0] * 90 + [1.0] * 10)
    profile = numeric_profile(values, 100)
    assert len(profile["counts"]) == len(profile["edges"]) - 1 < 100
    assert sum(profile["counts"]) == 100


def test_a_constant_feature_has_one_narrow_bin() -> None:
    profile = numeric_profile(np.array([5.0] * 10 + [np.nan]), 100)
    assert profile["edges"] == [5.0, float(np.nextafter(5.0, np.inf))]
    assert profile["counts"] == [10]
    assert (profile["count"], profile["missing"], profile["std"]) == (10, 1, 0.0)


def test_an_all_missing_feature() -> None:
    profile = numeric_profile(np.array([np.nan, np.nan]), 100)
    assert profile == {"type": "numeric", "count": 0, "missing": 2, "edges": [], "counts": []}


def test_categorical_profile_counts_frequencies() -> None:
    column = pd.Series(["basic", "pro", "basic", None, np.nan, 3])
    profile = categorical_profile(column)
    assert profile == {
        "type": "categorical",
        "count": 4,
        "missing": 2,
        "frequencies": {"basic": 2, "pro": 1, "3": 1},
    }


def test_registered_version_has_a_profile(yard: Yard, logreg, cancer) -> None:
    X, _ = cancer
    yard.register(logreg, "churn", sample=X)
    profile = yard.profile("churn@1")
    assert (profile["rows"], profile["bins"]) == (569, 100)
    assert list(profile["features"]) == list(X.columns)
    radius = profile["features"]["mean radius"]
    assert len(radius["counts"]) == len(radius["edges"]) - 1 > 90
    assert sum(radius["counts"]) == radius["count"] == 569
    output = profile["output"]
    assert output["type"] == "categorical"
    expected = pd.Series(logreg.predict(X)).value_counts()
    assert output["frequencies"] == {str(k): int(v) for k, v in expected.items()}
    assert output["count"] == 569


def test_profile_follows_aliases(yard: Yard, logreg, cancer) -> None:
    X, _ = cancer
    yard.register(logreg, "churn", sample=X.iloc[:100])
    yard.register(logreg, "churn", sample=X)
    yard.set_alias("churn", "production", 1)
    assert yard.profile("churn@production")["rows"] == 100
    assert yard.profile("churn")["rows"] == 569


def test_build_profile_of_mixed_features_and_a_regression_output() -> None:
    frame = pd.DataFrame({"age": [30, 40, 50, 60], "plan": ["basic", "pro", "pro", None]})
    signature = infer_signature(
        frame, input_format="dataframe", output_kind="regression", classes=None, has_proba=False
    )
    profile = build_profile(frame, signature, np.array([1.0, 2.0, 3.0, 4.0]), bins=2)
    assert profile["features"]["age"]["counts"] == [2, 2]
    assert profile["features"]["plan"]["frequencies"] == {"pro": 2, "basic": 1}
    assert profile["output"]["type"] == "numeric"
    assert profile["output"]["count"] == 4
    assert build_profile(frame, signature, None, bins=2)["output"] is None


def test_few_distinct_values_get_one_bin_each() -> None:
    """A 0/1 flag or a 1–5 rating: every value its own bin, so a shift between two
    neighbouring values shows (with quantile edges the top two values shared a bin)."""
    flags = numeric_profile(np.array([0.0] * 95 + [1.0] * 5), 100)
    assert flags["counts"] == [95, 5]
    stars = numeric_profile(np.repeat([1.0, 2.0, 3.0, 4.0, 5.0], [5, 10, 40, 30, 15]), 100)
    assert stars["edges"][:5] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert stars["counts"] == [5, 10, 40, 30, 15]


def test_registering_without_a_sample_says_drift_cannot_be_computed(
    yard: Yard, logreg, cancer
) -> None:
    X, _ = cancer
    with pytest.warns(NoReferenceWarning, match=r"^churn@1: no reference sample: drift") as said:
        yard.register(logreg, "churn")
    (warning,) = said
    assert warning.filename == __file__  # the caller's line, not modelyard's
    assert "the promotion gate's data checks are off" in str(warning.message)
    assert "`modelyard profile set churn@1 --sample FILE`" in str(warning.message)
    assert yard.profile("churn@1") == {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoReferenceWarning)
        yard.register(logreg, "churn", sample=X)  # with a sample: nothing to say
    assert yard.profile("churn@2")["rows"] == 569
