"""The statistics of an A/B test: the comparison of two arms' outcomes, and sizing.

Pure functions over arrays. Every A/B metric reduces each prediction to one outcome — a 0/1
for rates (compared with the pooled two-proportion z-test, Wilson intervals per arm and
Newcombe's hybrid score interval for the difference) or a number for continuous metrics
(Welch's t-test, t-intervals, Welch–Satterthwaite degrees of freedom). Degenerate arms give
a report with warnings and no test, never an exception or a NaN, because the report is shown
while the test is still collecting traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from modelyard.control.ab_metrics import CONTINUOUS, RATE, ABMetric, get_metric
from modelyard.errors import InvalidInput

Z_TEST = "two-proportion z-test"
WELCH = "Welch's t-test"
NEWCOMBE = "Newcombe hybrid score (Wilson)"
WELCH_CI = "Welch (Welch–Satterthwaite df)"
DEFAULT_MIN_SAMPLES = 100
NORMAL_APPROX_MIN = 10  # successes and failures each arm needs for the z-test to be trusted


# -- the report ---------------------------------------------------------------------------


def _clean(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _interval(ci: tuple[float, float] | None) -> list[float | None] | None:
    return None if ci is None else [_clean(ci[0]), _clean(ci[1])]


@dataclass(frozen=True)
class ArmSummary:
    n: int
    mean: float | None  # the metric: a rate or the mean outcome
    std_error: float | None
    ci: tuple[float, float] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "mean": _clean(self.mean),
            "std_error": _clean(self.std_error),
            "ci": _interval(self.ci),
        }


@dataclass(frozen=True)
class Difference:
    """``b − a`` in the metric's units, with the interval's method named."""

    estimate: float | None
    ci: tuple[float, float] | None
    method: str

    def to_json(self) -> dict[str, Any]:
        return {"estimate": _clean(self.estimate), "ci": _interval(self.ci), "method": self.method}


@dataclass(frozen=True)
class ABReport:
    metric: str
    kind: str
    higher_is_better: bool
    alpha: float
    a: ArmSummary
    b: ArmSummary
    difference: Difference
    test: str | None  # None when the data cannot support a test (see warnings)
    statistic: float | None
    df: float | None  # Welch–Satterthwaite degrees of freedom; None for the z-test
    p_value: float | None
    significant: bool
    winner: str | None  # "a" | "b" | None
    min_samples: int
    required_per_arm: int | None
    warnings: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "kind": self.kind,
            "higher_is_better": self.higher_is_better,
            "alpha": self.alpha,
            "confidence": 1 - self.alpha,
            "a": self.a.to_json(),
            "b": self.b.to_json(),
            "difference": self.difference.to_json(),
            "test": self.test,
            "statistic": _clean(self.statistic),
            "df": _clean(self.df),
            "p_value": _clean(self.p_value),
            "significant": self.significant,
            "winner": self.winner,
            "min_samples": self.min_samples,
            "required_per_arm": self.required_per_arm,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class _Test:
    name: str | None = None
    statistic: float | None = None
    df: float | None = None
    p_value: float | None = None


def _outcome_array(values: npt.ArrayLike, arm: str, spec: ABMetric) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInput(f"{arm}_outcomes must be numbers") from None
    if array.ndim != 1:
        raise InvalidInput(f"{arm}_outcomes must be one outcome per prediction")
    if not np.isfinite(array).all():
        raise InvalidInput(f"{arm}_outcomes contain a missing or infinite value")
    if spec.kind == RATE and not np.isin(array, (0.0, 1.0)).all():
        raise InvalidInput(f"{arm}_outcomes must be 0 or 1 for the rate metric {spec.name!r}")
    return array


def _rate_arm(x: np.ndarray, alpha: float) -> ArmSummary:
    n = len(x)
    if n == 0:
        return ArmSummary(0, None, None, None)
    successes = int(x.sum())
    p = successes / n
    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=1 - alpha, method="wilson")
    return ArmSummary(n, p, math.sqrt(p * (1 - p) / n), (float(ci.low), float(ci.high)))


def _continuous_arm(x: np.ndarray, alpha: float) -> ArmSummary:
    n = len(x)
    if n == 0:
        return ArmSummary(0, None, None, None)
    mean = float(x.mean())
    if n == 1:
        return ArmSummary(1, mean, None, None)
    se = float(x.std(ddof=1)) / math.sqrt(n)
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se
    return ArmSummary(n, mean, se, (mean - half, mean + half))


def _newcombe(a: ArmSummary, b: ArmSummary) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval: each arm's Wilson limits, combined like Wald."""
    if a.mean is None or b.mean is None or a.ci is None or b.ci is None:
        return None
    d = b.mean - a.mean
    low = d - math.hypot(b.mean - b.ci[0], a.ci[1] - a.mean)
    high = d + math.hypot(b.ci[1] - b.mean, a.mean - a.ci[0])
    return (low, high)


def _z_test(a: np.ndarray, b: np.ndarray) -> _Test:
    """Pooled two-proportion z-test; undefined when every outcome in both arms is the same."""
    n_a, n_b = len(a), len(b)
    pooled = (a.sum() + b.sum()) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return _Test()
    z = (b.mean() - a.mean()) / se
    return _Test(Z_TEST, float(z), None, float(2 * stats.norm.sf(abs(z))))


def _welch(a: np.ndarray, b: np.ndarray, alpha: float) -> tuple[_Test, tuple[float, float] | None]:
    """Welch's t-test on b − a; from summary statistics so a constant arm raises no warning."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return _Test(), None
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    result = stats.ttest_ind_from_stats(
        b.mean(), b.std(ddof=1), len(b), a.mean(), a.std(ddof=1), len(a), equal_var=False
    )
    d = float(b.mean() - a.mean())
    half = float(stats.t.ppf(1 - alpha / 2, df)) * se
    test = _Test(WELCH, float(result.statistic), float(df), float(result.pvalue))
    return test, (d - half, d + half)


def _sample_warnings(
    spec: ABMetric, arms: dict[str, np.ndarray], min_samples: int, required: int | None
) -> list[str]:
    warnings: list[str] = []
    for arm, x in arms.items():
        if len(x) == 0:
            warnings.append(f"arm {arm} has no outcomes yet; no test")
        elif len(x) < min_samples:
            warnings.append(
                f"arm {arm} has {len(x)} outcomes, fewer than the minimum {min_samples}; "
                "the result is not reliable yet"
            )
        if required is not None and 0 < len(x) < required:
            warnings.append(
                f"arm {arm} has {len(x)} outcomes; {required} per arm are needed "
                "to detect the requested effect"
            )
        if spec.kind == RATE and len(x) > 0:
            successes = int(x.sum())
            fewest = min(successes, len(x) - successes)
            what = "successes" if successes == fewest else "failures"
            if fewest < NORMAL_APPROX_MIN:
                warnings.append(
                    f"arm {arm} has only {fewest} {what} (fewer than {NORMAL_APPROX_MIN}); "
                    "the normal approximation behind the z-test is weak"
                )
        if spec.kind == CONTINUOUS and len(x) == 1:
            warnings.append(f"arm {arm} has a single outcome; no variance, no test")
        elif len(x) > 1 and np.ptp(x) == 0:
            warnings.append(f"arm {arm} has the same outcome every time (zero variance)")
    return warnings


def _check_level(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise InvalidInput(f"{name} must be a number between 0 and 1 (exclusive), got {value!r}")


def compare_arms(
    a_outcomes: npt.ArrayLike,
    b_outcomes: npt.ArrayLike,
    metric: str,
    *,
    alpha: float = 0.05,
    min_samples: int = DEFAULT_MIN_SAMPLES,
    minimum_detectable_effect: float | None = None,
) -> ABReport:
    """Compare arm b with arm a on ``metric``; a winner only when the test is significant.

    ``minimum_detectable_effect`` (absolute, rates only) sizes the test from arm a's rate, so
    the report says how many outcomes each arm needs and warns until both have them.
    """
    spec = get_metric(metric)
    _check_level(alpha, "alpha")
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 0:
        raise InvalidInput(f"min_samples must be a whole number ≥ 0, got {min_samples!r}")
    a = _outcome_array(a_outcomes, "a", spec)
    b = _outcome_array(b_outcomes, "b", spec)

    test = _Test()
    if spec.kind == RATE:
        arm_a, arm_b = _rate_arm(a, alpha), _rate_arm(b, alpha)
        diff_ci, method = _newcombe(arm_a, arm_b), NEWCOMBE
        if len(a) and len(b):
            test = _z_test(a, b)
    else:
        arm_a, arm_b = _continuous_arm(a, alpha), _continuous_arm(b, alpha)
        diff_ci, method = None, WELCH_CI
        if len(a) > 1 and len(b) > 1:
            test, diff_ci = _welch(a, b, alpha)

    required = None
    if minimum_detectable_effect is not None and spec.kind == RATE and arm_a.mean is not None:
        try:
            required = required_sample_size(arm_a.mean, minimum_detectable_effect, alpha=alpha)
        except InvalidInput:
            required = None  # arm a's rate is 0 or 1, or the effect runs past it

    warnings = _sample_warnings(spec, {"a": a, "b": b}, min_samples, required)
    too_few = spec.kind == CONTINUOUS and min(len(a), len(b)) < 2
    if test.name is None and len(a) and len(b) and not too_few:
        warnings.append("both arms are constant (zero variance); no test can compare them")

    diff = None if arm_a.mean is None or arm_b.mean is None else arm_b.mean - arm_a.mean
    significant = test.p_value is not None and test.p_value < alpha
    winner = None
    if significant and diff is not None and diff != 0:
        winner = "b" if (diff > 0) == spec.higher_is_better else "a"
    return ABReport(
        metric=spec.name,
        kind=spec.kind,
        higher_is_better=spec.higher_is_better,
        alpha=alpha,
        a=arm_a,
        b=arm_b,
        difference=Difference(diff, diff_ci, method),
        test=test.name,
        statistic=test.statistic,
        df=test.df,
        p_value=test.p_value,
        significant=significant,
        winner=winner,
        min_samples=min_samples,
        required_per_arm=required,
        warnings=tuple(warnings),
    )


def required_sample_size(
    baseline_rate: float,
    minimum_detectable_effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int:
    """Outcomes per arm for a two-sided two-proportion z-test to detect an absolute change.

    n = (z₁₋α/₂·√(2·p̄(1−p̄)) + z_power·√(p₁(1−p₁) + p₂(1−p₂)))² / (p₂ − p₁)², p̄ = (p₁+p₂)/2:
    the pooled variance under no difference, each arm's own under the effect.
    """
    _check_level(baseline_rate, "baseline_rate")
    _check_level(alpha, "alpha")
    _check_level(power, "power")
    effect = minimum_detectable_effect
    if isinstance(effect, bool) or not isinstance(effect, int | float) or not effect:
        raise InvalidInput(f"minimum_detectable_effect must be a non-zero number, got {effect!r}")
    p1, p2 = baseline_rate, baseline_rate + effect
    if not 0 < p2 < 1:
        raise InvalidInput(
            f"baseline_rate + minimum_detectable_effect must lie between 0 and 1, got {p2!r}"
        )
    mean = (p1 + p2) / 2
    z_alpha = float(stats.norm.ppf(1 - alpha / 2))
    z_power = float(stats.norm.ppf(power))
    root = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return math.ceil(root**2 / effect**2 - 1e-9)
