"""The two tail probabilities the binned drift tests need, without scipy.

``monitor status`` and the gauges judge drift from stored counts; importing scipy for two
survival functions would be most of a command's start-up (scipy.special alone takes longer
to import than the rest of the command). Both have short closed forms, checked against
scipy's in tests/monitoring/test_distributions.py.
"""

from __future__ import annotations

import math

import numpy as np

_KOLMOGOROV_CUTOVER = 0.82  # below: the theta-function form converges in a few terms
_SQRT_2PI = math.sqrt(2 * math.pi)


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for the Kolmogorov distribution (scipy's ``special.kolmogorov``)."""
    if x <= 0:
        return 1.0
    if x < _KOLMOGOROV_CUTOVER:
        # 1 − √(2π)/x · Σ exp(−(2k−1)²π²/(8x²))
        scale = -(math.pi**2) / (8 * x * x)
        below = 0.0
        for k in range(1, 50):
            term = math.exp((2 * k - 1) ** 2 * scale)
            below += term
            if term <= 1e-17 * below:
                break
        return max(0.0, 1.0 - _SQRT_2PI / x * below)
    # 2 Σ (−1)^(k−1) exp(−2k²x²)
    total = 0.0
    for k in range(1, 100):
        term = math.exp(-2 * k * k * x * x)
        total += term if k % 2 else -term
        if term <= 1e-17:
            break
    return min(1.0, max(0.0, 2 * total))


def chi2_sf(statistic: float, dof: int) -> float:
    """P(X > statistic) for a chi-squared variable with integer ``dof`` ≥ 1 (scipy's
    ``stats.chi2.sf``): the regularized upper incomplete gamma Q(dof/2, statistic/2), whose
    finite sums for integer and half-integer orders are added in log space so a large
    ``dof`` neither overflows nor underflows."""
    if dof < 1:
        raise ValueError("chi-squared needs at least one degree of freedom")
    if statistic <= 0:
        return 1.0
    half = statistic / 2
    if dof % 2 == 0:  # Q(n, x) = e^−x Σ_{k<n} x^k / k!
        k = np.arange(dof // 2, dtype=float)
        log_factorial = np.concatenate([[0.0], np.cumsum(np.log(k[1:]))])
        return min(1.0, _exp_sum(k * math.log(half) - log_factorial, -half))
    # Q(n + ½, x) = erfc(√x) + e^−x Σ_{k=1..n} x^(k−½) / Γ(k + ½)
    tail = math.erfc(math.sqrt(half))
    n = (dof - 1) // 2
    if n == 0:
        return tail
    order = np.arange(n, dtype=float) + 0.5  # k − ½ for k = 1..n
    log_gamma = math.lgamma(0.5) + np.cumsum(np.log(order))  # log Γ(k + ½)
    return min(1.0, tail + _exp_sum(order * math.log(half) - log_gamma, -half))


def _exp_sum(log_terms: np.ndarray, shift: float) -> float:
    """exp(shift) · Σ exp(log_terms), computed without overflow or early underflow."""
    top = float(log_terms.max())
    return math.exp(shift + top + math.log(float(np.exp(log_terms - top).sum())))
