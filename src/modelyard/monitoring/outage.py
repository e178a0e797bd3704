"""What the recorder keeps while the database is down, and how much of it.

Log rows whose write failed are kept up to a byte bound (the oldest first; past it the
newest are dropped and counted). Windows that could not be saved are kept too, but a
failed save is not retried every flush: the next try waits twice as long as the last, up
to ``MAX_BACKOFF_SECONDS``, so an outage does not re-encode every unsaved window each
second. The unsaved windows are measured by the size of their encoded form at each try;
past the bound the oldest are made smaller first (their per-segment sub-windows dropped,
the window's own counts kept whole), and then the oldest ended ones are dropped whole.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from modelyard.monitoring.log_rows import row_bytes
from modelyard.monitoring.window import Window
from modelyard.store.predictions import LogColumns

MAX_BACKOFF_SECONDS = 30.0  # the longest wait between two tries to save windows

Key = tuple[str, str, int]  # endpoint, version, bucket start (unix seconds)


def keep_to_bound(rows: LogColumns, bound: int) -> tuple[LogColumns, int, int]:
    """The oldest rows of a failed write that fit in ``bound`` bytes: (kept rows, their
    size, how many predictions were dropped: a request's row counts its rows)."""
    size = 0
    for kept, row in enumerate(rows):
        size_of_row = row_bytes(row)
        if size + size_of_row > bound:
            dropped = rows[kept:]
            return rows[:kept], size, sum(n or 1 for n in dropped.columns[-1])
        size += size_of_row
    return rows, size, 0


@dataclass
class Backoff:
    """When windows may be saved again after failed tries: ``base`` seconds after the
    first failure, doubling with each failure in a row, at most ``cap``."""

    base: float
    cap: float = MAX_BACKOFF_SECONDS
    failures: int = 0
    not_before: float = 0.0

    def ready(self, now: float) -> bool:
        return now >= self.not_before

    def failed(self, now: float) -> None:
        self.failures += 1
        delay = min(self.cap, self.base * 2 ** min(self.failures - 1, 32))
        self.not_before = now + delay

    def succeeded(self) -> None:
        self.failures, self.not_before = 0, 0.0


@dataclass
class Shed:
    """What ``shed`` gave up to bring the unsaved windows under the bound."""

    folded: list[Key] = field(default_factory=list)  # windows whose segments were dropped
    dropped: int = 0  # whole windows dropped
    rows: int = 0  # the answered rows those whole windows had counted


def shed(
    windows: MutableMapping[Key, Window],
    sizes: MutableMapping[Key, int],
    current: int,
    bound: int,
) -> Shed:
    """Bring the measured ``sizes`` of unsaved windows under ``bound`` bytes, oldest
    bucket first: drop segment sub-windows (a window's own counts stay whole and
    mergeable), then whole windows of ended buckets (before ``current``). Windows of the
    current bucket are never dropped whole: they are still being counted."""
    done = Shed()
    total = sum(sizes.values())
    oldest_first = sorted(sizes, key=lambda k: (k[2], k))
    for key in oldest_first:
        if total <= bound:
            return done
        window = windows.get(key)
        if window is not None and window.segments:
            window.segments = {}
            done.folded.append(key)
            smaller = min(sizes[key], encoded_size(window.to_json()))
            total -= sizes[key] - smaller
            sizes[key] = smaller
    for key in oldest_first:
        if total <= bound or key[2] >= current:
            break
        window = windows.pop(key, None)
        total -= sizes.pop(key)
        if window is not None:
            done.dropped += 1
            done.rows += window.rows
    return done


def encoded_size(sketch: Mapping[str, Any]) -> int:
    """The bytes a window's sketch takes as JSON (what a save writes)."""
    return len(orjson.dumps(sketch, option=orjson.OPT_SERIALIZE_NUMPY, default=str))
