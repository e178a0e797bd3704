"""Printing: rich tables for people, ``--json`` for scripts, one-line errors on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from modelyard.domain.jsonable import plain

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")

# Wide enough that no cell or line is ever cut or folded, small enough to stay cheap.
PIPED_WIDTH = 100_000


def whole_lines_when_piped() -> None:
    """Piped or redirected, print whole cells and lines, not a table cut to 80 columns.

    A terminal has a width to fit; a file or a `grep` has none, and a cut cell
    (`versi…`) loses the very value the script was after.
    """
    if not console.is_terminal:
        console.width = PIPED_WIDTH
    if not errors.is_terminal:
        errors.width = PIPED_WIDTH


def say(*parts: str) -> None:
    """Print a line made of user-supplied text, literally (no markup)."""
    console.print(Text("".join(parts)))


def print_json(value: Any) -> None:
    sys.stdout.write(
        orjson.dumps(
            plain(value),
            option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
        ).decode()
        + "\n"
    )


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        # User text (reasons, descriptions, params) is shown literally, never as markup.
        grid.add_row(*(cell if isinstance(cell, Text) else Text(_text(cell)) for cell in row))
    console.print(grid)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return when(value)
    return str(value)


def short_metrics(metrics: dict[str, float], limit: int = 4) -> str:
    items = [f"{k}={v:.4g}" for k, v in sorted(metrics.items())[:limit]]
    return ", ".join(items) + (" …" if len(metrics) > limit else "")


def _unshown(done: int, total: int | None) -> None:
    """Progress nobody can see: stderr is a file or a pipe, where a bar is only noise."""


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr, driven by ``(done, total)`` callbacks."""
    if not errors.is_terminal:
        yield _unshown
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        description,
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


@contextmanager
def progress_rows(description: str) -> Iterator[Callable[[int, int | None], None]]:
    """A rich progress bar over rows, when the total may be unknown (CSV): rows done (of
    the total), rows/s, and the time left when the total is known."""
    if not errors.is_terminal:
        yield _unshown
        return
    from rich.progress import Progress

    from modelyard.cli.progress import row_columns

    with Progress(
        description,
        *row_columns(),
        console=errors,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def advance(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield advance
