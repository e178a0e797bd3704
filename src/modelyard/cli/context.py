"""Opening the yard a command works on, from the global options and MODELYARD_* settings."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from modelyard.yard import Yard


@dataclass
class Options:
    home: Path | None = None
    db_url: str | None = None
    artifacts: str | None = None
    actor: str | None = None


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic garbage collection while the modules a command needs are imported.

    Importing creates a few hundred thousand objects that live until the process ends;
    the collector walked them some two hundred times while a read command started (a
    tenth of its time). What the block made is then frozen (``gc.freeze``: left out of
    later collections, as it would have outlived them anyway) and collection resumes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def open_yard(ctx: typer.Context) -> Yard:
    root = ctx.find_root()
    options = root.obj if isinstance(root.obj, Options) else Options()
    with collection_paused():
        from modelyard.yard import Yard

        yard = Yard(
            options.home, db_url=options.db_url, artifacts=options.artifacts, actor=options.actor
        )
    ctx.call_on_close(yard.close)
    return yard


def parse_pairs(values: list[str] | None, what: str) -> dict[str, str]:
    """``["k=v", …]`` → dict, with a clear message on a malformed pair."""
    from modelyard.errors import InvalidInput

    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--{what} {item!r}: expected KEY=VALUE")
        out[key] = value
    return out
