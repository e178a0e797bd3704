"""Downsampling old monitor windows: the fine buckets (5 minutes by default) of each hour
older than a day are merged into one hourly window, as Prometheus-style stores do.

Sketches merge by addition, so an hourly window holds exactly what its buckets held: a
week's totals, drift and quality are the same after compaction; only the timeline of old
hours is coarser (a week's chart has hourly points anyway). A week is then about 430
windows per version instead of 2,016: that is what keeps a 7-day monitor page fast.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from modelyard.domain.endpoints import shadowed_ref
from modelyard.domain.monitoring import KEEP_FINE
from modelyard.monitoring.window import ROLLUP_SECONDS, Window, output_profile, with_arrays
from modelyard.store.schema import utcnow
from modelyard.store.windows import StoredWindow, WindowStore

log = logging.getLogger(__name__)

ROLLUP_REPLICA = "rollup"  # the replica name of merged windows (all replicas folded in)


class Source(Protocol):
    @property
    def windows(self) -> WindowStore: ...

    def monitor_profile(self, ref: str) -> tuple[dict[str, Any], bool]: ...


@dataclass(frozen=True)
class Compacted:
    windows: int  # fine windows folded
    rollups: int  # hourly windows written
    skipped: list[str]  # versions whose profile is gone: left as they are


def compact(
    source: Source, older_than: timedelta = KEEP_FINE, now: datetime | None = None
) -> Compacted:
    """Fold every whole hour that ended more than ``older_than`` ago into one window."""
    now = now or utcnow()
    cutoff = _hour((now - older_than).timestamp(), now.tzinfo)
    folded = written = 0
    skipped = []
    for endpoint, version, oldest in source.windows.finer_than(ROLLUP_SECONDS, cutoff):
        try:
            profile, classification = source.monitor_profile(shadowed_ref(version) or version)
        except Exception:  # the version was deleted: its windows stay as they are
            profile, classification = {}, False
        if not profile:  # without its bins a sketch cannot be merged: leave it be
            skipped.append(f"{endpoint}:{version}")
            continue
        bins, output_spec = with_arrays(profile), output_profile(profile, classification)
        day = _hour(oldest.timestamp(), now.tzinfo)
        while day < cutoff:  # a day at a time: a long backlog never sits in memory at once
            until = min(day + timedelta(days=1), cutoff)
            hours: dict[datetime, list[StoredWindow]] = defaultdict(list)
            for window in source.windows.read_version(endpoint, version, day, until):
                hours[_hour(window.bucket_start.timestamp(), now.tzinfo)].append(window)
            for start, windows in sorted(hours.items()):
                if len(windows) == 1 and windows[0].bucket_seconds >= ROLLUP_SECONDS:
                    continue  # already one hourly window
                merged = Window.empty(bins, output_spec)
                for window in windows:
                    merged.merge(Window.from_json(bins, output_spec, window.sketch))
                rollup = StoredWindow(
                    endpoint, version, start, ROLLUP_SECONDS, ROLLUP_REPLICA, merged.to_json()
                )
                source.windows.replace(windows, rollup)
                folded += len(windows)
                written += 1
            day = until
    if folded:
        log.info("monitor compaction: %d windows folded into %d hourly ones", folded, written)
    return Compacted(folded, written, skipped)


def _hour(stamp: float, tz: Any) -> datetime:
    return datetime.fromtimestamp(stamp - stamp % ROLLUP_SECONDS, tz)
