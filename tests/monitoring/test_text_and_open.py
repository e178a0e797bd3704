"""Open categories and text are watched, never refused: the share of values unseen in the
sample (open), the lengths' drift and the missing share (text), as per-feature values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.domain.monitoring import DriftConfig
from modelyard.monitoring.drift import judge
from modelyard.monitoring.profile import categorical_profile, text_profile
from modelyard.monitoring.sketch import TextLengths, counts_for, counts_from_json


def test_text_lengths_are_binned_and_non_strings_missing() -> None:
    profile = text_profile(pd.Series(["ab", "abcd", None, "abcdef"]), bins=10)
    assert (profile["type"], profile["count"], profile["missing"]) == ("text", 3, 1)
    sketch = counts_for(profile)
    assert isinstance(sketch, TextLengths)
    sketch.add(np.array(["abcd", "a" * 50, None, 7], dtype=object))
    assert (sketch.total, sketch.missing, sketch.high) == (2, 2, 1)
    again = counts_from_json(profile, sketch.to_json())
    assert isinstance(again, TextLengths)
    assert again.to_json() == sketch.to_json()


def test_text_drift_is_judged_on_lengths_with_the_missing_share() -> None:
    rng = np.random.default_rng(0)
    reference = pd.Series(["x" * int(n) for n in rng.integers(5, 40, 2000)])
    profile = text_profile(reference, bins=20)
    sketch = counts_for(profile)
    sketch.add(np.array(["y" * 200] * 900 + [None] * 100, dtype=object))
    drift = judge("review", profile, sketch, DriftConfig())
    assert (drift.kind, drift.verdict) == ("text", "drift")
    assert drift.values["missing_share"] == pytest.approx(0.1)


def test_an_open_category_reports_its_unseen_share() -> None:
    profile = {**categorical_profile(pd.Series(["red", "blue"] * 50)), "open": True}
    sketch = counts_for(profile)
    sketch.add(pd.Series(["red"] * 30 + ["purple"] * 10))
    drift = judge("color", profile, sketch, DriftConfig())
    assert drift.values["unseen_share"] == pytest.approx(0.25)


def test_a_closed_category_has_no_unseen_share() -> None:
    profile = categorical_profile(pd.Series(["red", "blue"] * 50))
    sketch = counts_for(profile)
    sketch.add(pd.Series(["red"] * 30))
    assert "unseen_share" not in judge("color", profile, sketch, DriftConfig()).values
