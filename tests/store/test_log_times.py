"""The prediction log's times as SQLite texts and PostgreSQL datetimes, a column at a time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import numpy as np

from modelyard.store.log_times import as_datetime, sqlite_time, sqlite_times, stored_times_of


def test_times_of_a_whole_log_column_have_the_texts_of_each_alone() -> None:
    base = datetime(2026, 12, 5, 21, 26, 59, tzinfo=UTC)
    utc = [base, base + timedelta(microseconds=1), base, base + timedelta(days=40, seconds=3.5)]
    utc += [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, UTC)]
    utc += [datetime(1969, 12, 31, 23, 59, 59, 999999, UTC), datetime(2024, 2, 29, 0, 0, 1, 7, UTC)]
    assert sqlite_times(utc) == [sqlite_time(at) for at in utc]
    assert sqlite_times(utc[:1]) == [sqlite_time(utc[0])] == ["2026-12-05 21:26:59.000000"]
    mixed = [*utc, base.astimezone(timezone(timedelta(hours=2)))]
    assert sqlite_times(mixed) == [sqlite_time(at) for at in mixed]
    assert sqlite_times([]) == []


def test_a_flush_s_times_in_seconds_have_the_texts_of_their_datetimes() -> None:
    seconds = [1733500000.0, 1733500000.1234565, 1733500000.9999996, 0.5, 1e9 + 1e-6]
    seconds += [time.time() + i / 7 for i in range(50)]
    as_datetimes = [datetime.fromtimestamp(at, UTC) for at in seconds]
    assert sqlite_times(seconds) == [sqlite_time(at) for at in as_datetimes]
    assert sqlite_times([seconds[0], as_datetimes[1]]) == [
        sqlite_time(at) for at in as_datetimes[:2]
    ]
    assert stored_times_of(seconds) == [at.replace(tzinfo=None) for at in as_datetimes]


def test_whole_and_numpy_numbers_are_seconds_too() -> None:
    at = 1700000000
    expected = sqlite_time(datetime.fromtimestamp(at, UTC))
    assert sqlite_times([at]) == [expected]
    assert sqlite_times([np.float64(at), float(at)]) == [expected, expected]
    assert as_datetime(at) == datetime.fromtimestamp(at, UTC)
    assert stored_times_of([at]) == [datetime.fromtimestamp(at, UTC).replace(tzinfo=None)]
