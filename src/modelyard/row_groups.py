"""Cutting a Parquet file into parts of whole row groups, for the engines that read a file
in pieces (batch scoring's and the drift gate's)."""

from __future__ import annotations

from collections.abc import Sequence


def row_group_runs(sizes: Sequence[int], most_rows: int) -> list[tuple[int, ...]]:
    """Consecutive row groups (their indexes), each run at most ``most_rows`` rows (or one
    group larger than that); one empty run for a file without row groups."""
    runs: list[tuple[int, ...]] = []
    current: list[int] = []
    rows = 0
    for index, size in enumerate(sizes):
        if current and rows + size > most_rows:
            runs.append(tuple(current))
            current, rows = [], 0
        current.append(index)
        rows += size
    runs.append(tuple(current))
    return runs
