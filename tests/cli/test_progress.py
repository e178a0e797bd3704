"""What ``modelyard predict`` shows while it runs: rows of the total and the time left
when the file records its row count, rows and rows/s when it does not."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from modelyard.cli.progress import row_columns


def _shown(total: int | None) -> str:
    """The columns' text after 350 rows, 250 of them in the last second (rich measures the
    speed between its samples; its clock is a fake one here)."""
    now = [0.0]
    quiet = Console(file=io.StringIO())
    with Progress(
        *row_columns(), console=quiet, auto_refresh=False, get_time=lambda: now[0]
    ) as bar:
        task = bar.add_task("scoring", total=total)
        now[0] = 1.0
        bar.update(task, completed=100)
        now[0] = 2.0
        bar.update(task, completed=350)
        shown = bar.tasks[0]
        return " ".join(str(column.render(shown)) for column in bar.columns[1:])


def test_a_known_total_shows_rows_of_it_and_the_time_left() -> None:
    shown = _shown(1000)
    assert "350 of 1,000 rows (35%)" in shown
    assert "250 rows/s" in shown
    assert "ETA 0:00:03" in shown  # 650 rows left at 250 rows/s


def test_an_unknown_total_shows_rows_and_speed_but_no_guess() -> None:
    shown = _shown(None)
    assert "350 rows" in shown
    assert "250 rows/s" in shown
    assert " of " not in shown
    assert "%" not in shown
    assert "ETA" not in shown
