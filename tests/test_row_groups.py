"""Row groups cut into runs for the engines that read a Parquet file in pieces."""

from __future__ import annotations

import pytest

from modelyard.row_groups import row_group_runs


@pytest.mark.parametrize(
    ("sizes", "most", "runs"),
    [
        ([100, 100, 100], 200, [(0, 1), (2,)]),
        ([100, 100, 100], 1_000, [(0, 1, 2)]),
        ([500, 50, 50], 100, [(0,), (1, 2)]),  # a group larger than the bound is a run alone
        ([], 100, [()]),  # a file without row groups is one (empty) run
    ],
)
def test_runs_hold_at_most_the_rows_asked(
    sizes: list[int], most: int, runs: list[tuple[int, ...]]
) -> None:
    assert row_group_runs(sizes, most) == runs
