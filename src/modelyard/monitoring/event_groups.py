"""How a flush takes the queued prediction events: grouped by endpoint × version × time
bucket (each group is one window), then in parts of a bounded number of rows (so no
array call of a flush holds the interpreter for long)."""

from __future__ import annotations

from modelyard.monitoring.outage import Key
from modelyard.runtime.events import PredictionEvent


def bucket_of(at: float, seconds: int) -> int:
    return int(at // seconds) * seconds


def group_events(events: list[PredictionEvent], seconds: int) -> dict[Key, list[PredictionEvent]]:
    """Events by endpoint × version × bucket. Queued events mostly come in runs of one
    key, so an event joins the previous one's group after three comparisons, without
    building its key (one-row requests make this loop as long as the flush's rows)."""
    groups: dict[Key, list[PredictionEvent]] = {}
    group: list[PredictionEvent] = []
    endpoint = version = ""
    start = end = 0.0
    for event in events:
        at = event.at
        if start <= at < end and event.version == version and event.endpoint == endpoint:
            group.append(event)
            continue
        endpoint, version, bucket = event.endpoint, event.version, bucket_of(at, seconds)
        start, end = bucket, bucket + seconds
        group = groups.setdefault((endpoint, version, bucket), [])
        group.append(event)
    return groups


def parts_of(events: list[PredictionEvent], rows: int) -> list[list[PredictionEvent]]:
    """``events`` in runs of at most ``rows`` rows (a bigger request: a run of its own)."""
    sizes = [event.columns.rows for event in events]
    if sum(sizes) <= rows:
        return [events]
    parts: list[list[PredictionEvent]] = []
    start = taken = 0
    for index, size in enumerate(sizes):
        if taken and taken + size > rows:
            parts.append(events[start:index])
            start, taken = index, 0
        taken += size
    parts.append(events[start:])
    return parts
