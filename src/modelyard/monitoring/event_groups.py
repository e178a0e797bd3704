"""How a flush takes the queued prediction events: grouped by endpoint × version × time
bucket (each group is one window), then in parts of a bounded number of rows and
requests (so no array call of a flush holds the interpreter for long), and let go of a
slice at a time."""

from __future__ import annotations

from typing import Any

from modelyard.monitoring.outage import Key
from modelyard.runtime.events import PredictionEvent, ids_of


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


def parts_of(
    events: list[PredictionEvent], rows: int, requests: int | None = None
) -> list[list[PredictionEvent]]:
    """``events`` in runs of at most ``rows`` rows and ``requests`` requests (a bigger
    request: a run of its own)."""
    limit = len(events) if requests is None else requests
    sizes = list(map(len, map(ids_of, events)))
    if len(events) <= limit and sum(sizes) <= rows:
        return [events]
    parts: list[list[PredictionEvent]] = []
    start = taken = 0
    for index, size in enumerate(sizes):
        if taken and (taken + size > rows or index - start >= limit):
            parts.append(events[start:index])
            start, taken = index, 0
        taken += size
    parts.append(events[start:])
    return parts


def release(items: list[Any], per_call: int) -> None:
    """Empty ``items`` ``per_call`` at a time, last first. When a list holds the last
    references, freeing it frees everything they reach in one call that holds the
    interpreter lock throughout: a second's flush of ~10,000 one-row requests took
    10-22 ms to free, which the event loop waited out (bench/README.md)."""
    while items:
        del items[-per_call:]
