"""Drift between two in-memory tables: the live binned tests on raw frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modelyard.domain.monitoring import DriftConfig
from modelyard.errors import InvalidInput
from modelyard.monitoring.drift import DRIFT, NO_DRIFT, NOT_ENOUGH
from modelyard.monitoring.offline import drift_frames


def _frame(seed: int, rows: int = 3000, shift: float = 0.0, pro: float = 0.3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + 10 * shift, 10, size=rows),
            "visits": rng.poisson(4, size=rows),
            "plan": rng.choice(["basic", "pro"], p=[1 - pro, pro], size=rows),
            "active": rng.random(size=rows) < 0.5,
        }
    )


def test_a_shifted_column_is_found_among_stable_ones() -> None:
    report = drift_frames(_frame(0), _frame(1, shift=0.5))
    verdicts = {f.feature: f.verdict for f in report.features}
    assert verdicts == {"age": DRIFT, "visits": NO_DRIFT, "plan": NO_DRIFT, "active": NO_DRIFT}
    assert (report.drift_share, report.verdict) == (0.25, NO_DRIFT)
    kinds = {f.feature: f.kind for f in report.features}
    assert kinds == {
        "age": "numeric",
        "visits": "numeric",
        "plan": "categorical",
        "active": "categorical",
    }


def test_the_dataset_drifts_when_enough_columns_do() -> None:
    report = drift_frames(_frame(0), _frame(1, shift=0.5, pro=0.7), DriftConfig(drift_share=0.5))
    assert {f.feature for f in report.top()} == {"age", "plan"}
    assert (report.drift_share, report.verdict) == (0.5, DRIFT)


def test_same_data_is_no_drift() -> None:
    frame = _frame(2)
    report = drift_frames(frame, frame.copy())
    assert report.verdict == NO_DRIFT
    assert all(f.values.get("ks", 0.0) == 0.0 for f in report.features)


def test_only_the_chosen_columns() -> None:
    report = drift_frames(_frame(0), _frame(1), columns=["plan", "age"])
    assert [f.feature for f in report.features] == ["plan", "age"]


def test_exact_values_are_scipys() -> None:
    reference, current = _frame(0), _frame(1, shift=0.1)
    report = drift_frames(reference, current, exact=True, columns=["age"])
    exact = stats.ks_2samp(reference["age"], current["age"])
    assert report.features[0].values["ks"] == round(exact.statistic, 6)
    assert report.features[0].values["ks_p_value"] == round(exact.pvalue, 6)


def test_bins_set_the_reference_resolution() -> None:
    reference, current = _frame(0), _frame(1, shift=0.2)
    coarse = drift_frames(reference, current, bins=5, columns=["age"]).features[0]
    fine = drift_frames(reference, current, bins=200, columns=["age"]).features[0]
    assert coarse.values["ks"] <= fine.values["ks"]  # the binned CDF is read at fewer edges
    assert coarse.values["psi"] != fine.values["psi"]


def test_the_config_is_used() -> None:
    report = drift_frames(_frame(0, rows=50), _frame(1, rows=50), DriftConfig(min_rows=100))
    assert report.verdict == NOT_ENOUGH
    lenient = drift_frames(_frame(0, rows=50), _frame(1, rows=50), DriftConfig(min_rows=10))
    assert lenient.verdict != NOT_ENOUGH


def test_missing_values_are_counted_apart() -> None:
    reference = pd.DataFrame({"x": np.arange(1000.0)})
    current = pd.DataFrame({"x": [np.nan] * 495 + [1.0, 2.0, 3.0, 4.0, 5.0]})
    feature = drift_frames(reference, current).features[0]
    assert (feature.verdict, feature.current_rows, feature.missing) == (NOT_ENOUGH, 5, 495)


def test_an_all_missing_current_column_has_no_verdict() -> None:
    reference = pd.DataFrame({"x": np.arange(1000.0)})
    current = pd.DataFrame({"x": [None] * 500}, dtype=object)
    feature = drift_frames(reference, current).features[0]
    assert (feature.verdict, feature.current_rows, feature.missing) == (NOT_ENOUGH, 0, 500)


def test_missing_columns_are_named() -> None:
    with pytest.raises(InvalidInput, match=r"'plan' missing from the current data"):
        drift_frames(_frame(0), _frame(1).drop(columns="plan"))
    with pytest.raises(InvalidInput, match=r"'extra' missing from the reference data"):
        drift_frames(_frame(0), _frame(1).assign(extra=1), columns=["age", "extra"])


def test_empty_frames_are_refused() -> None:
    with pytest.raises(InvalidInput, match="reference data has no rows"):
        drift_frames(_frame(0).iloc[:0], _frame(1))
    with pytest.raises(InvalidInput, match="current data has no rows"):
        drift_frames(_frame(0), _frame(1).iloc[:0])


def test_a_numeric_column_that_turned_into_text_is_refused() -> None:
    current = _frame(1).assign(age=lambda f: f["age"].astype(str))
    with pytest.raises(
        InvalidInput, match=r"column 'age': numeric in the reference, \w+ in the current data"
    ):
        drift_frames(_frame(0), current)


def test_repeated_column_names_are_refused() -> None:
    with pytest.raises(InvalidInput, match="unique"):
        drift_frames(_frame(0), _frame(1), columns=["age", "age"])


def test_frames_with_integer_column_names() -> None:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame(rng.normal(size=(500, 2)))
    current = pd.DataFrame(rng.normal(size=(500, 2)))
    report = drift_frames(reference, current)
    assert [f.feature for f in report.features] == ["0", "1"]
