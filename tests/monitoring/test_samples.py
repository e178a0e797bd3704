"""A column's sample is the same set of values however its rows arrive: in one pass, in
batches of any size, or in parts merged in any grouping (what lets the engines agree)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from modelyard.monitoring.samples import Moments, Sample, row_keys


def _column(rows: int) -> np.ndarray:
    values = np.random.default_rng(3).normal(size=rows)
    values[::37] = np.nan
    return values


def _one_pass(values: np.ndarray, limit: int, thin: int, batch: int) -> Sample:
    sample = Sample(limit, thin)
    for start in range(0, values.size, batch):
        sample.add(values[start : start + batch], 0, start)
    return sample


def _in_parts(values: np.ndarray, limit: int, thin: int, cuts: list[int]) -> Sample:
    merged = Sample(limit, thin)
    bounds = [0, *cuts, values.size]
    for low, high in itertools.pairwise(bounds):
        part = Sample(limit, thin, merged.level, merged.seen)  # as an engine starts a part
        part.add(values[low:high], 0, low)
        merged.merge(part)
    return merged


@pytest.mark.parametrize(("limit", "thin"), [(50_000, 50_000), (5_000, 2_000), (900, 300)])
def test_parts_merged_keep_the_values_one_pass_keeps(limit: int, thin: int) -> None:
    values = _column(20_000)
    whole = _one_pass(values, limit, thin, batch=4096)
    for cuts in ([7_000], [1_000, 1_001, 15_000], list(range(500, 20_000, 500))):
        merged = _in_parts(values, limit, thin, cuts)
        assert np.array_equal(merged.sorted(), whole.sorted())
        assert (merged.seen, merged.missing, merged.level) == (
            whole.seen,
            whole.missing,
            whole.level,
        )
    assert whole.whole == (limit >= whole.seen)
    assert whole.kept <= (whole.seen if whole.whole else thin)


def test_a_thinned_sample_is_a_fair_share_of_the_column() -> None:
    values = _column(200_000)
    sample = _one_pass(values, 20_000, 10_000, batch=8192)
    assert not sample.whole
    assert 5_000 < sample.kept <= 10_000
    finite = np.sort(values[np.isfinite(values)])
    assert np.median(sample.sorted()) == pytest.approx(np.median(finite), abs=0.05)


def test_row_keys_are_uniform_and_differ_by_file() -> None:
    keys = row_keys(0, np.arange(100_000))
    assert keys.dtype == np.uint64
    share = np.count_nonzero(keys < np.uint64(2**63)) / keys.size
    assert share == pytest.approx(0.5, abs=0.01)
    assert not np.array_equal(row_keys(1, np.arange(10)), row_keys(0, np.arange(10)))


def test_moments_merge_like_one_pass() -> None:
    values = np.random.default_rng(1).normal(5.0, 2.0, 10_000)
    first, second = Moments(shift=5.0), Moments(shift=5.0)
    first.add(values[:3000])
    second.add(values[3000:])
    first.merge(second)
    assert first.result() == pytest.approx((values.mean(), values.std()))
