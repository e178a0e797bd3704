"""Shadow comparison counts in a window: added, merged, stored and read back."""

from __future__ import annotations

import pytest

from modelyard.monitoring.summary import compared
from modelyard.monitoring.window import ShadowStats, Window
from modelyard.runtime.shadow import Comparison


def _window() -> Window:
    window = Window.empty({}, None)
    stats = window.compared_with("churn@3")
    stats.add(Comparison(4, 3, 4, 1.0, 4, 0.4), shadow_ms=20.0, primary_ms=2.0)
    stats.add_missed(2, skipped=False)
    stats.add_missed(5, skipped=True)
    return window


def test_counts_merge_by_addition() -> None:
    merged = _window()
    merged.merge(_window())
    stats = merged.shadow["churn@3"]
    assert (stats.requests, stats.rows, stats.agreements, stats.errors, stats.skipped) == (
        6,
        8,
        6,
        4,
        10,
    )
    assert stats.abs_diff == pytest.approx(2.0)
    assert int(stats.latency.sum()) == int(stats.primary_latency.sum()) == 2


def test_json_round_trip_keeps_every_count() -> None:
    window = _window()
    back = Window.from_json({}, None, window.to_json())
    assert back.shadow["churn@3"].to_json() == window.shadow["churn@3"].to_json()


def test_windows_stored_before_shadows_still_load() -> None:
    old = Window.empty({}, None).to_json()
    assert "shadow" not in old  # answering versions' windows are unchanged
    assert Window.from_json({}, None, old).shadow == {}


def test_rates_and_means_come_from_the_counts() -> None:
    stats = _window().shadow["churn@3"]
    summary = compared("churn@3", stats)
    assert summary.agreement_rate == pytest.approx(3 / 4)
    assert summary.mean_abs_diff == pytest.approx(1.0 / 4)
    assert summary.mean_proba_abs_diff == pytest.approx(0.4 / 4)
    assert summary.error_rate == pytest.approx(2 / 6)
    assert summary.skipped == 5
    assert summary.shadow_latency_ms.p50 > summary.primary_latency_ms.p50
    assert compared("churn@3", ShadowStats()).agreement_rate is None
