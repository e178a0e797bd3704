"""Progress columns for work counted in rows (``modelyard predict``).

With a known total (a Parquet file records its row count): rows done of the total, the
percentage, rows per second and the time left. Without one (CSV): rows done and rows per
second only: no percentage or time left that would be a guess.
"""

from __future__ import annotations

from rich.progress import BarColumn, ProgressColumn, Task, TimeElapsedColumn
from rich.text import Text


class RowsColumn(ProgressColumn):
    """``12,345 of 1,000,000 rows (1%)`` or, with no total, ``12,345 rows``."""

    def render(self, task: Task) -> Text:
        done = int(task.completed)
        if task.total is None:
            return Text(f"{done:,} rows", style="progress.download")
        return Text(
            f"{done:,} of {int(task.total):,} rows ({task.percentage:.0f}%)",
            style="progress.download",
        )


class RateColumn(ProgressColumn):
    """Rows per second, once rich has two samples to measure from."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s", style="progress.data.speed")


class EtaColumn(ProgressColumn):
    """``ETA 0:01:05`` when the total is known; nothing otherwise."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text("")
        left = task.time_remaining
        if left is None:
            return Text("ETA -:--:--", style="progress.remaining")
        minutes, seconds = divmod(int(left), 60)
        hours, minutes = divmod(minutes, 60)
        return Text(f"ETA {hours:d}:{minutes:02d}:{seconds:02d}", style="progress.remaining")


def row_columns() -> tuple[ProgressColumn, ...]:
    """The columns after the description: a bar (pulsing when the total is unknown), rows
    done (of the total), rows/s, elapsed time, and the time left when the total is known."""
    return BarColumn(), RowsColumn(), RateColumn(), TimeElapsedColumn(), EtaColumn()
