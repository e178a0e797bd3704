"""Data-quality signals from a window's sketches: shares equal to those counted on the raw
values, and the same after windows merge (replicas, buckets) or go through JSON."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.domain.refusal_rules import OTHER, UNSEEN_CATEGORY, WRONG_TYPE
from modelyard.monitoring.data_quality import data_quality
from modelyard.monitoring.profile import categorical_profile, numeric_profile, text_profile
from modelyard.monitoring.window import Window, with_arrays

RNG = np.random.default_rng(7)
TRAIN_AGE = RNG.normal(40, 10, size=2000)
TRAIN_PLAN = pd.Series(RNG.choice(["basic", "pro", "team"], size=2000))
TRAIN_CITY = pd.Series(RNG.choice(["paris", "rome"], size=2000))


@pytest.fixture
def profile() -> dict:
    plan = {**categorical_profile(TRAIN_PLAN), "open": True}
    return with_arrays(
        {
            "features": {
                "age": numeric_profile(TRAIN_AGE, 50),
                "plan": plan,
                "city": categorical_profile(TRAIN_CITY),  # closed: no unseen share
                "note": text_profile(pd.Series(["short", "a longer note", None]), 5),
            },
            "output": None,
        }
    )


def _live(seed: int, size: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    age = rng.normal(45, 15, size=size)
    age[rng.random(size) < 0.1] = np.nan
    plan = rng.choice(["basic", "pro", "team", "enterprise", None], size=size).astype(object)
    note = rng.choice(["x", "yy", None], size=size).astype(object)
    city = rng.choice(["paris", "rome", None], size=size).astype(object)
    return {"age": age, "plan": plan, "note": note, "city": city}


def _window(profile: dict, values: dict[str, np.ndarray]) -> Window:
    window = Window.empty(profile, None)
    for name, column in values.items():
        window.features[name].add(column)
    window.requests = len(values["age"])
    return window


def test_shares_are_those_counted_on_the_raw_values(profile) -> None:
    live = _live(1, 3000)
    report = data_quality(profile, _window(profile, live))
    by_name = {f.feature: f for f in report.features}
    age = live["age"]
    present = age[~np.isnan(age)]
    outside = (present < TRAIN_AGE.min()) | (present > TRAIN_AGE.max())
    assert by_name["age"].rows == age.size
    assert by_name["age"].missing_share == pytest.approx(np.isnan(age).mean())
    assert by_name["age"].out_of_range_share == pytest.approx(outside.mean())
    plan = pd.Series(live["plan"])
    assert by_name["plan"].missing_share == pytest.approx(plan.isna().mean())
    present = plan.dropna()
    assert by_name["plan"].unseen_share == pytest.approx((~present.isin(set(TRAIN_PLAN))).mean())
    assert by_name["city"].unseen_share is None  # closed categories are refused instead
    assert by_name["city"].out_of_range_share is None
    assert by_name["note"].missing_share == pytest.approx(pd.Series(live["note"]).isna().mean())
    assert report.metrics()["out_of_range_share"] == by_name["age"].out_of_range_share


def test_merged_windows_give_the_shares_of_all_their_rows(profile) -> None:
    first, second = _live(2, 700), _live(3, 1300)
    whole = _window(profile, {k: np.concatenate([first[k], second[k]]) for k in first})
    whole.add_error(422, 3, rule=UNSEEN_CATEGORY)
    whole.add_error(400, 1, rule=OTHER)
    a, b = _window(profile, first), _window(profile, second)
    a.add_error(422, 2, rule=UNSEEN_CATEGORY)
    b.add_error(422, 1, rule=UNSEEN_CATEGORY)
    b.add_error(400, 1, rule=OTHER)
    merged = Window.from_json(profile, None, a.to_json())
    merged.merge(Window.from_json(profile, None, b.to_json()))
    assert data_quality(profile, merged) == data_quality(profile, whole)
    report = data_quality(profile, merged)
    assert report.refused == {OTHER: 1, UNSEEN_CATEGORY: 3}
    assert report.attempts == 2000 + 4
    assert report.refused_share(UNSEEN_CATEGORY) == pytest.approx(3 / 2004)
    assert report.metrics()[f"refused_share[{WRONG_TYPE}]"] == 0.0


def test_a_window_stored_before_refusals_were_kept_still_loads(profile) -> None:
    stored = _window(profile, _live(4, 50)).to_json()
    assert "refused" not in stored  # windows without refusals are written as before
    window = Window.from_json(profile, None, stored)
    assert window.refused == {}
    assert data_quality(profile, window).refused_share() == 0.0


def test_4xx_of_a_window_stored_without_rules_count_as_other(profile) -> None:
    old = _window(profile, _live(5, 96))
    old.add_error(422, 3)  # an older replica: the status only, no rule
    old.add_error(500, 1)
    new = _window(profile, _live(6, 100))
    new.add_error(422, 2, rule=UNSEEN_CATEGORY)
    merged = Window.from_json(profile, None, old.to_json())
    merged.merge(Window.from_json(profile, None, new.to_json()))
    report = data_quality(profile, merged)
    assert report.refused == {OTHER: 3, UNSEEN_CATEGORY: 2}
    assert report.refused_share() == pytest.approx(5 / 202)


def test_the_callers_business_is_not_refused_traffic(profile) -> None:
    old = _window(profile, _live(7, 50))
    old.add_error(429, 4)  # limits on callers, not the data
    old.add_error(401, 1)
    old.add_error(400, 2)
    assert data_quality(profile, old).refused == {OTHER: 2}
