"""The drift tests' tail probabilities, computed without scipy, are scipy's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from modelyard.monitoring.distributions import chi2_sf, kolmogorov_sf


@pytest.mark.parametrize("x", [*np.linspace(0.0, 3.0, 301), 0.819, 0.82, 0.821, 4.0, 6.0, 30.0])
def test_kolmogorov_sf_is_scipys(x: float) -> None:
    expected = float(special.kolmogorov(x))
    assert kolmogorov_sf(float(x)) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("dof", [1, 2, 3, 4, 5, 9, 10, 49, 50, 299, 300, 2000, 2001])
def test_chi2_sf_is_scipys_from_the_centre_to_the_far_tails(dof: int) -> None:
    for statistic in [0.0, 1e-6, 0.3, 1.0, *np.linspace(0.05, 4.0, 40) * dof, 20.0 * dof + 800]:
        expected = float(stats.chi2.sf(statistic, dof))
        found = chi2_sf(float(statistic), dof)
        assert found == pytest.approx(expected, rel=1e-9, abs=1e-300), (dof, statistic)


def test_chi2_sf_refuses_no_degrees_of_freedom() -> None:
    with pytest.raises(ValueError, match="degree of freedom"):
        chi2_sf(1.0, 0)
