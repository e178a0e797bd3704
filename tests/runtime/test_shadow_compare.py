"""Shadow vs answered output: counts checked against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.runtime.runner import Output
from modelyard.runtime.shadow import compare_outputs


def test_classifiers_agree_on_labels_and_differ_by_the_positive_probability() -> None:
    primary = Output(np.array([0, 1, 1]), np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]]))
    shadow = Output(np.array([0, 0, 1]), np.array([[0.8, 0.2], [0.7, 0.3], [0.2, 0.8]]))
    result = compare_outputs(primary, shadow)
    assert (result.rows, result.agreements, result.diff_rows) == (3, 2, 3)
    assert result.abs_diff == pytest.approx(1.0)  # one label 1 → 0
    assert result.proba_rows == 3
    assert result.proba_abs_diff == pytest.approx(0.1 + 0.3 + 0.0)


def test_more_classes_average_the_probability_gap_over_classes() -> None:
    primary = Output(np.array(["a"]), np.array([[0.5, 0.3, 0.2]]))
    shadow = Output(np.array(["b"]), np.array([[0.2, 0.6, 0.2]]))
    result = compare_outputs(primary, shadow)
    assert (result.agreements, result.diff_rows, result.abs_diff) == (0, 0, 0.0)
    assert result.proba_abs_diff == pytest.approx((0.3 + 0.3 + 0.0) / 3)


def test_regressors_agree_within_float_noise_and_sum_the_gaps() -> None:
    primary = Output(np.array([1.0, 2e9, -3.0, 0.0]), None)
    shadow = Output(np.array([1.0 + 1e-12, 2e9 + 1.0, -1.0, 0.0]), None)
    result = compare_outputs(primary, shadow)
    assert result.agreements == 3  # 1e-12 and 1 in 2e9 are noise; 2 in 3 is not
    assert result.abs_diff == pytest.approx(1e-12 + 1.0 + 2.0)
    assert result.proba_rows == 0


def test_probabilities_over_other_classes_are_not_compared() -> None:
    both = Output(np.array([1]), np.array([[0.5, 0.5]]))
    assert compare_outputs(both, both, same_classes=False).proba_rows == 0


def test_a_shadow_answering_another_number_of_rows_is_refused() -> None:
    with pytest.raises(ValueError, match="answered 1 rows for 2"):
        compare_outputs(Output(np.array([1, 2]), None), Output(np.array([1]), None))
