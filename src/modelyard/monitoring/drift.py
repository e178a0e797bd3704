"""Drift tests on binned counts, and the verdicts drawn from them.

Every test works on the reference profile's counts and a sketch in the same bins, so it
runs in microseconds whatever the traffic was. Numeric features get PSI, Jensen–Shannon
distance, the KS statistic from binned CDFs (with its asymptotic p-value) and the
Wasserstein distance normalised by the reference standard deviation (values inside a bin
taken as spread uniformly); categorical features get PSI, Jensen–Shannon and the
chi-squared test of homogeneity. ``exact_numeric`` computes KS and Wasserstein from raw
samples with scipy instead, for small data and for checking the binned values.

The binned tests need numpy alone (their two tail probabilities are in
``distributions``): ``monitor status`` judges drift without waiting for scipy to import.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from modelyard.domain.monitor_results import (
    DRIFT,
    NO_DRIFT,
    NOT_ENOUGH,
    DriftReport,
    FeatureDrift,
)
from modelyard.domain.monitoring import DriftConfig
from modelyard.monitoring.distributions import chi2_sf, kolmogorov_sf
from modelyard.monitoring.sketch import CategoryCounts, Counts, NumericCounts, TextLengths

VALUE_OF_TEST = {"chi2": "chi2_p_value"}  # configured test → the value that decides
PSI_FLOOR = 1e-4  # proportions of zero are replaced by this before the logarithm
UNSEEN = "(unseen)"


# -- binned test values -----------------------------------------------------------------


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins."""
    p = np.maximum(_proportions(reference), PSI_FLOOR)
    q = np.maximum(_proportions(current), PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def jensen_shannon(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen–Shannon distance (natural logarithm, as scipy and Evidently: 0 … 0.833),
    computed as scipy's ``spatial.distance.jensenshannon`` does."""
    p, q = _proportions(reference), _proportions(current)
    p, q = p / p.sum(), q / q.sum()
    middle = (p + q) / 2
    return float(np.sqrt((_relative_entropy(p, middle) + _relative_entropy(q, middle)) / 2))


def _relative_entropy(p: np.ndarray, middle: np.ndarray) -> float:
    """Σ p·log(p/m) over p > 0 (m ≥ p/2 there, so never zero)."""
    held = p > 0
    return float(np.sum(p[held] * np.log(p[held] / middle[held])))


def binned_ks(reference: np.ndarray, current: np.ndarray) -> float:
    """Largest gap between the two CDFs, read at the bin edges."""
    gap = np.cumsum(_proportions(reference)) - np.cumsum(_proportions(current))
    return float(np.max(np.abs(gap)))


def ks_p_value(statistic: float, n: int, m: int) -> float:
    """Asymptotic two-sample KS p-value (Kolmogorov distribution at √(nm/(n+m))·D); within
    about 0.02 of scipy's ``ks_2samp`` on large samples."""
    if n == 0 or m == 0:
        return 1.0
    # kstwobign's survival function as a plain function (100× cheaper than scipy's
    # distribution object's method; a timeline calls it thousands of times).
    return kolmogorov_sf(statistic * math.sqrt(n * m / (n + m)))


def binned_wasserstein(positions: np.ndarray, reference: np.ndarray, current: np.ndarray) -> float:
    """W1 = ∫|F_ref − F_cur| for masses spread uniformly over ``[positions[i], positions[i+1]]``.

    Both CDFs are then piecewise linear on the same grid, so the integral is exact per
    interval: the difference goes linearly from ``a`` to ``b``.
    """
    gap = np.concatenate(
        [[0.0], np.cumsum(_proportions(reference)) - np.cumsum(_proportions(current))]
    )
    a, b = gap[:-1], gap[1:]
    width = np.diff(positions)
    same_sign = a * b >= 0
    magnitude = np.abs(a) + np.abs(b)
    crossing = np.divide(a * a + b * b, 2 * magnitude, out=np.zeros_like(a), where=magnitude > 0)
    area = np.where(same_sign, magnitude / 2, crossing)
    return float(np.sum(area * width))


def chi2_p_value(reference: np.ndarray, current: np.ndarray) -> float:
    """Chi-squared test of homogeneity on the 2 × k table (categories seen on either side)."""
    table = np.vstack([reference, current]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or table.sum(axis=1).min() == 0:
        return 1.0
    # scipy's chi2_contingency(table, correction=False): Pearson's statistic, (2−1)(k−1) dof
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return chi2_sf(statistic, table.shape[1] - 1)


def _proportions(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    return counts / total if total > 0 else counts


# -- per feature ------------------------------------------------------------------------


def numeric_values(
    profile: Mapping[str, Any], sketch: NumericCounts, wanted: Collection[str] | None = None
) -> dict[str, float]:
    """Every numeric test (or the ``wanted`` ones) from a reference profile entry and a
    sketch in its bins."""
    reference = np.concatenate([[0], np.asarray(profile["counts"], dtype=float), [0]])
    current = np.concatenate([[sketch.low], sketch.counts.astype(float), [sketch.high]])
    edges = np.asarray(profile["edges"], dtype=float)
    if edges.size < 2:  # the reference had no finite value: nothing to compare with
        return {}
    values: dict[str, float] = {}
    if wanted is None or "psi" in wanted:
        values["psi"] = psi(reference, current)
    if wanted is None or "jensenshannon" in wanted:
        values["jensenshannon"] = jensen_shannon(reference, current)
    ks = values["ks"] = binned_ks(reference, current)
    if wanted is None or "ks_p_value" in wanted:
        values["ks_p_value"] = ks_p_value(ks, int(reference.sum()), int(current.sum()))
    if wanted is None or "wasserstein" in wanted:
        # Out-of-range mass is spread up to the extreme seen, but no further than one
        # reference range beyond it: a single absurd value must not decide the verdict.
        span = float(edges[-1] - edges[0]) or float(profile.get("std") or 0.0) or 1.0
        low = max(sketch.low_min, edges[0] - span) if sketch.low_min is not None else edges[0]
        high = min(sketch.high_max, edges[-1] + span) if sketch.high_max is not None else edges[-1]
        positions = np.concatenate([[low], edges, [high]])
        std = float(profile.get("std") or 0.0)
        values["wasserstein"] = binned_wasserstein(positions, reference, current) / (std or 1.0)
    return values


def categorical_values(
    profile: Mapping[str, Any], sketch: CategoryCounts, wanted: Collection[str] | None = None
) -> dict[str, float]:
    categories = list(profile["frequencies"])
    reference = np.array([profile["frequencies"][c] for c in categories] + [0], dtype=float)
    current = np.array([sketch.counts.get(c, 0) for c in categories] + [sketch.unseen], float)
    values: dict[str, float] = {}
    if wanted is None or "psi" in wanted:
        values["psi"] = psi(reference, current)
    if wanted is None or "jensenshannon" in wanted:
        values["jensenshannon"] = jensen_shannon(reference, current)
    if wanted is None or "chi2_p_value" in wanted:
        values["chi2_p_value"] = chi2_p_value(reference, current)
    return values


def exact_numeric(reference: np.ndarray, current: np.ndarray) -> dict[str, float]:
    """KS (statistic, p-value) and normalised Wasserstein from raw samples, with scipy."""
    from scipy import stats

    reference = reference[~np.isnan(reference)]
    current = current[~np.isnan(current)]
    if reference.size == 0 or current.size == 0:
        return {}
    ks = stats.ks_2samp(reference, current)
    std = float(reference.std())
    return {
        "ks": float(ks.statistic),
        "ks_p_value": float(ks.pvalue),
        "wasserstein": float(stats.wasserstein_distance(reference, current)) / (std or 1.0),
    }


def judge(
    feature: str,
    profile: Mapping[str, Any],
    sketch: Counts,
    config: DriftConfig,
    exact: dict[str, float] | None = None,
    brief: bool = False,
) -> FeatureDrift:
    """Test values and the verdict for one feature (``exact`` overrides binned values;
    ``brief``: only the values a verdict can rest on, for timelines)."""
    rows = sketch.total
    judged = rows > 0 and int(profile.get("count", 0)) > 0  # nothing to compare otherwise
    if isinstance(sketch, NumericCounts):
        kind, chosen, small_test = "numeric", config.numeric_test, "ks_p_value"
        if isinstance(sketch, TextLengths):  # the lengths' distribution, judged as numbers
            kind = "text"
        cells = len(profile.get("counts") or ()) + 2  # bins and the two out-of-range ones
        wanted = {small_test, VALUE_OF_TEST.get(chosen, chosen)} if brief else None
        values = numeric_values(profile, sketch, wanted) if judged else {}
    else:
        kind, chosen, small_test = "categorical", config.categorical_test, "chi2_p_value"
        cells = len(profile.get("frequencies") or ()) + 1  # categories and "unseen"
        wanted = {small_test, VALUE_OF_TEST.get(chosen, chosen)} if brief else None
        values = categorical_values(profile, sketch, wanted) if judged else {}
    if judged:
        values.update(exact or {})
    enough = rows >= max(config.min_rows, 1) and bool(values)
    # Effect sizes need about ten rows per cell: below that, sampling noise alone moves a
    # Jensen–Shannon distance over 0.1 (300 categories, 1,500 rows: flagged 20 times in 20).
    large = rows > config.large_rows and rows >= 10 * cells
    test = VALUE_OF_TEST.get(chosen, chosen) if large or not enough else small_test
    p_value = test.endswith("p_value")
    threshold = config.p_value if p_value else config.threshold(test)
    if not enough:
        verdict = NOT_ENOUGH
    elif p_value:
        verdict = DRIFT if values[test] < threshold else NO_DRIFT
    else:
        verdict = DRIFT if values[test] >= threshold else NO_DRIFT
    return FeatureDrift(
        feature=feature,
        kind=kind,
        reference_rows=int(profile.get("count", 0)),
        current_rows=rows,
        missing=sketch.missing,
        values={
            k: round(v, 6)
            for k, v in {**values, **({} if brief else _shares(profile, sketch))}.items()
        },
        test=test,
        threshold=threshold,
        verdict=verdict,
    )


def _shares(profile: Mapping[str, Any], sketch: Counts) -> dict[str, float]:
    """What open categories and text are watched for besides drift: the share of values
    never seen in the sample (open), the share missing (text)."""
    if isinstance(sketch, CategoryCounts) and profile.get("open") and sketch.total:
        return {"unseen_share": sketch.unseen / sketch.total}
    if isinstance(sketch, TextLengths) and sketch.total + sketch.missing:
        return {"missing_share": sketch.missing / (sketch.total + sketch.missing)}
    return {}


def compare(
    profile: Mapping[str, Any],
    sketches: Mapping[str, Counts],
    output: Counts | None,
    config: DriftConfig,
    exact: Mapping[str, dict[str, float]] | None = None,
    *,
    brief: bool = False,
) -> DriftReport:
    """Drift of every profiled feature (and of the output, when both sides have one);
    ``brief`` computes only the values verdicts rest on (a timeline's many points)."""
    features = [
        judge(name, spec, sketches[name], config, (exact or {}).get(name), brief)
        for name, spec in profile["features"].items()
        if name in sketches
    ]
    output_drift = None
    if output is not None and profile.get("output") is not None:
        output_drift = judge("(output)", profile["output"], output, config, brief=brief)
    return DriftReport(features, output_drift, config)
