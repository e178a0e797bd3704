"""A/B statistics against hand computations (formulas written out) and against scipy."""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy import stats

from modelyard.control.ab_metrics import METRICS, outcomes
from modelyard.control.experiment import (
    NEWCOMBE,
    WELCH,
    Z_TEST,
    compare_arms,
    required_sample_size,
)
from modelyard.errors import InvalidInput

Z95 = NormalDist().inv_cdf(0.975)


def _rates(successes: int, n: int) -> list[int]:
    return [1] * successes + [0] * (n - successes)


def _wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """(p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)."""
    p = successes / n
    centre = p + z**2 / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return (centre - half) / (1 + z**2 / n), (centre + half) / (1 + z**2 / n)


# -- outcomes -------------------------------------------------------------------------


def test_labels_compare_numerically_when_both_parse_as_numbers() -> None:
    predicted = [1, "1", 1.0, True, " 2 ", "cat", "cat", 0]
    actual = ["1", 1.0, "1.0", 1, 2, "cat", "Cat", "0.5"]
    assert outcomes("accuracy", predicted, actual).tolist() == [1, 1, 1, 1, 1, 1, 0, 0]
    assert outcomes("error_rate", predicted, actual).tolist() == [0, 0, 0, 0, 0, 0, 1, 1]


def test_positive_rate_and_prediction_need_no_labels() -> None:
    assert outcomes("positive_rate", np.array([True, False, True])).tolist() == [1, 0, 1]
    assert outcomes("positive_rate", ["1", "0", "yes"]).tolist() == [1, 0, 0]
    assert outcomes("prediction", [2.5, 3]).tolist() == [2.5, 3.0]


def test_continuous_outcomes_are_errors() -> None:
    assert outcomes("mae", [1.0, 4.0], [3.0, 4.5]).tolist() == [2.0, 0.5]
    assert outcomes("squared_error", [1.0, 4.0], [3.0, 4.5]).tolist() == [4.0, 0.25]


def test_registry_says_kind_and_direction() -> None:
    kinds = {name: (m.kind, m.higher_is_better, m.needs_labels) for name, m in METRICS.items()}
    assert kinds["accuracy"] == ("rate", True, True)
    assert kinds["error_rate"] == ("rate", False, True)
    assert kinds["mae"] == ("continuous", False, True)
    assert kinds["prediction"] == ("continuous", True, False)
    assert METRICS["mae"].description == "|prediction − actual|."


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: outcomes("auc", [1], [1]), r"unknown A/B metric 'auc' \(known: accuracy"),
        (lambda: outcomes("accuracy", [1, 0], [1]), r"differ in length \(2 vs 1\)"),
        (lambda: outcomes("accuracy", [1, 0], [1, float("nan")]), r"actuals\[1\] is not a finite"),
        (lambda: outcomes("accuracy", [1, 0], [1, None]), r"actuals\[1\] is missing"),
        (lambda: outcomes("accuracy", ["a", "nan"], [1, 0]), r"predictions\[1\] is not a finite"),
        (lambda: outcomes("mae", [1.0, 2.0]), r"actuals are required for metric 'mae'"),
        (lambda: outcomes("mae", [1.0, 2.0], [None, 1.0]), r"actuals\[0\] is missing"),
        (lambda: outcomes("mae", ["x"], [1.0]), r"predictions must be numbers for metric 'mae'"),
        (lambda: outcomes("mae", [[1.0, 2.0]], [[1.0, 2.0]]), r"predictions must be one value"),
    ],
)
def test_bad_outcome_input_names_the_field(call, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        call()


# -- rates ----------------------------------------------------------------------------


def test_z_test_matches_the_pooled_formula() -> None:
    report = compare_arms(_rates(60, 100), _rates(75, 100), "accuracy")
    # pooled p = 135/200; z = (0.75 − 0.60) / √(p(1−p)(1/100 + 1/100)); p-value = erfc(|z|/√2)
    pooled = 135 / 200
    z = 0.15 / math.sqrt(pooled * (1 - pooled) * (2 / 100))
    assert report.test == Z_TEST
    assert report.statistic == pytest.approx(z) == pytest.approx(2.264554, abs=1e-6)
    assert report.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert report.p_value == pytest.approx(0.023540, abs=1e-6)
    assert (report.significant, report.winner) == (True, "b")


def test_wilson_interval_per_arm_and_newcombe_difference() -> None:
    report = compare_arms(_rates(60, 100), _rates(75, 100), "accuracy")
    (la, ua), (lb, ub) = _wilson(60, 100), _wilson(75, 100)
    assert report.a.ci == pytest.approx((la, ua))
    assert report.a.ci == pytest.approx((0.502003, 0.690599), abs=1e-6)
    assert report.a.std_error == pytest.approx(math.sqrt(0.6 * 0.4 / 100))
    # Newcombe: d ∓ √((p_b − l_b)² + (u_a − p_a)²) and d + √((u_b − p_b)² + (p_a − l_a)²)
    low = 0.15 - math.hypot(0.75 - lb, ua - 0.6)
    high = 0.15 + math.hypot(ub - 0.75, 0.6 - la)
    assert report.difference.ci == pytest.approx((low, high))
    assert report.difference.method == NEWCOMBE


def test_lower_is_better_rate_picks_the_lower_arm() -> None:
    report = compare_arms(_rates(25, 200), _rates(60, 200), "error_rate")
    assert report.significant
    assert report.winner == "a"


def test_no_winner_without_significance() -> None:
    report = compare_arms(_rates(100, 200), _rates(106, 200), "accuracy")
    assert report.p_value is not None
    assert report.p_value > 0.05
    assert (report.significant, report.winner) == (False, None)


def test_min_sample_and_normal_approximation_warnings() -> None:
    report = compare_arms(_rates(45, 50), _rates(100, 200), "accuracy", min_samples=100)
    assert report.warnings == (
        "arm a has 50 outcomes, fewer than the minimum 100; the result is not reliable yet",
        "arm a has only 5 failures (fewer than 10); "
        "the normal approximation behind the z-test is weak",
    )
    assert compare_arms(_rates(60, 100), _rates(75, 100), "accuracy").warnings == ()


def test_required_samples_reported_for_a_detectable_effect() -> None:
    report = compare_arms(
        _rates(60, 100), _rates(75, 100), "accuracy", minimum_detectable_effect=0.05
    )
    assert report.required_per_arm == required_sample_size(0.6, 0.05)
    assert any("per arm are needed" in w for w in report.warnings)


def test_identical_constant_rate_arms_give_no_test() -> None:
    report = compare_arms([1] * 150, [1] * 150, "accuracy")
    assert (report.test, report.p_value, report.winner) == (None, None, None)
    assert "both arms are constant (zero variance); no test can compare them" in report.warnings


# -- continuous -----------------------------------------------------------------------


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(1.0, 1.0, 120), rng.normal(1.4, 2.0, 150)
    report = compare_arms(a, b, "mae")
    expected = stats.ttest_ind(b, a, equal_var=False)
    assert report.test == WELCH
    assert report.statistic == pytest.approx(expected.statistic)
    assert report.p_value == pytest.approx(expected.pvalue)
    assert report.df == pytest.approx(expected.df)
    assert report.difference.ci == pytest.approx(tuple(expected.confidence_interval(0.95)))


def test_continuous_arm_has_a_t_interval() -> None:
    x = np.array([1.0, 2.0, 4.0, 7.0])
    arm = compare_arms(x, x, "prediction").a
    se = x.std(ddof=1) / 2  # s/√n
    half = stats.t.ppf(0.975, 3) * se
    assert arm.ci == pytest.approx((3.5 - half, 3.5 + half))


def test_lower_is_better_continuous_winner() -> None:
    rng = np.random.default_rng(3)
    report = compare_arms(rng.normal(1.0, 0.5, 300), rng.normal(0.7, 0.5, 300), "mae")
    assert report.significant
    assert report.winner == "b"
    assert report.difference.estimate is not None
    assert report.difference.estimate < 0


# -- degenerate arms and bad input -----------------------------------------------------


def test_empty_arm_gives_no_test_and_plain_json() -> None:
    report = compare_arms([], [1.0, 2.0, 3.0], "mae")
    payload = json.loads(json.dumps(report.to_json(), allow_nan=False))
    assert payload["a"] == {"n": 0, "mean": None, "std_error": None, "ci": None}
    assert (payload["test"], payload["p_value"], payload["winner"]) == (None, None, None)
    assert "arm a has no outcomes yet; no test" in payload["warnings"]


def test_constant_arms_never_give_nan() -> None:
    both = compare_arms([2.0] * 10, [3.0] * 10, "mae")
    one = compare_arms([2.0] * 10, [1.0, 2.0, 3.0, 4.0], "mae")
    json.dumps([both.to_json(), one.to_json()], allow_nan=False)
    assert (both.test, both.p_value, both.difference.estimate) == (None, None, 1.0)
    assert one.test == WELCH
    assert "arm a has the same outcome every time (zero variance)" in one.warnings


def test_report_json_shape() -> None:
    payload = compare_arms(_rates(60, 100), _rates(75, 100), "accuracy").to_json()
    assert list(payload) == [
        "metric", "kind", "higher_is_better", "alpha", "confidence", "a", "b", "difference",
        "test", "statistic", "df", "p_value", "significant", "winner", "min_samples",
        "required_per_arm", "warnings",
    ]  # fmt: skip
    assert payload["difference"]["estimate"] == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("a", "b", "options", "match"),
    [
        ([0, 1], [1, 2], {}, r"b_outcomes must be 0 or 1 for the rate metric 'accuracy'"),
        ([0.5, float("nan")], [1.0], {"metric": "mae"}, r"a_outcomes contain a missing"),
        ([0, 1], [1, 0], {"alpha": 1.5}, r"alpha must be a number between 0 and 1"),
        ([0, 1], [1, 0], {"min_samples": -1}, r"min_samples must be a whole number"),
        ([0, 1], [1, 0], {"metric": "lift"}, r"unknown A/B metric 'lift'"),
    ],
)
def test_bad_comparison_input(a, b, options, match: str) -> None:
    options = {"metric": "accuracy", **options}
    with pytest.raises(InvalidInput, match=match):
        compare_arms(a, b, **options)


# -- sample size ----------------------------------------------------------------------


def test_required_sample_size_matches_the_formula() -> None:
    # n = (z_{1−α/2}·√(2·p̄(1−p̄)) + z_{power}·√(p₁(1−p₁) + p₂(1−p₂)))² / (p₂ − p₁)²
    p1, p2, z_power = 0.10, 0.12, NormalDist().inv_cdf(0.8)
    mean = (p1 + p2) / 2
    root = Z95 * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    assert required_sample_size(0.10, 0.02) == math.ceil(root**2 / 0.02**2) == 3841
    assert required_sample_size(0.12, -0.02) == 3841  # symmetric in direction


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0.0, 0.02), r"baseline_rate must be a number between 0 and 1"),
        ((0.1, 0.0), r"minimum_detectable_effect must be a non-zero number"),
        ((0.95, 0.1), r"must lie between 0 and 1, got 1.05"),
        ((0.1, 0.02, 0.05, 1.0), r"power must be a number between 0 and 1"),
    ],
)
def test_required_sample_size_rejects_bad_input(args: tuple[float, ...], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        required_sample_size(*args)
