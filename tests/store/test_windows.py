"""Monitor windows, one row per replica and bucket, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modelyard import Yard
from modelyard.store.windows import StoredWindow

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BUCKET = timedelta(minutes=5)


def _window(replica: str, rows: int, start: datetime = START, **key) -> StoredWindow:
    fields = {"endpoint": "churn", "version": "churn@1"} | key
    sketch = {"rows": rows, "latency": [0, rows], "features": {"age": {"counts": [rows, 0]}}}
    return StoredWindow(fields["endpoint"], fields["version"], start, 300, replica, sketch)


def _read(yard: Yard, endpoint: str = "churn") -> list[StoredWindow]:
    return yard.stores.windows.read(endpoint, START - timedelta(days=1), START + timedelta(days=1))


def test_a_window_reads_back(yard: Yard) -> None:
    window = _window("host:1", 7)
    yard.save_windows([window])
    assert _read(yard) == [window]
    assert _read(yard)[0].bucket_start == START  # time zone aware, in UTC


def test_saving_again_replaces_the_replicas_row_and_keeps_the_others(yard: Yard) -> None:
    yard.save_windows([_window("a", 1), _window("b", 5)])
    yard.save_windows([_window("a", 3)])
    stored = {w.replica: w.sketch["rows"] for w in _read(yard)}
    assert stored == {"a": 3, "b": 5}


def test_each_bucket_and_version_is_a_row_of_its_own(yard: Yard) -> None:
    yard.save_windows(
        [
            _window("a", 1),
            _window("a", 2, START + BUCKET),
            _window("a", 4, version="churn@2"),
            _window("a", 8, endpoint="fraud"),
        ]
    )
    assert [(w.bucket_start, w.version, w.sketch["rows"]) for w in _read(yard)] == [
        (START, "churn@1", 1),
        (START, "churn@2", 4),
        (START + BUCKET, "churn@1", 2),
    ]
    assert [w.sketch["rows"] for w in _read(yard, "fraud")] == [8]


def test_read_takes_buckets_starting_in_the_half_open_period(yard: Yard) -> None:
    yard.save_windows([_window("a", i, START + i * BUCKET) for i in range(4)])
    read = yard.stores.windows.read("churn", START + BUCKET, START + 3 * BUCKET)
    assert [w.sketch["rows"] for w in read] == [1, 2]


def test_a_long_replica_id_is_cut_and_still_upserts(yard: Yard) -> None:
    replica = "host-" + "x" * 300
    yard.save_windows([_window(replica, 1)])
    yard.save_windows([_window(replica, 2)])
    (stored,) = _read(yard)
    assert (stored.replica, stored.sketch["rows"]) == (replica[:128], 2)


def test_saving_nothing_is_fine(yard: Yard) -> None:
    yard.save_windows([])
    assert _read(yard) == []


def test_prune_removes_old_buckets(yard: Yard) -> None:
    now = datetime.now(UTC)
    yard.save_windows(
        [
            _window("a", 1, now - timedelta(days=10)),
            _window("b", 2, now - timedelta(days=10)),
            _window("a", 3, now - timedelta(hours=1)),
        ]
    )
    cutoff = now - timedelta(days=7)
    assert yard.stores.windows.prune(cutoff, dry_run=True) == 2
    assert len(yard.stores.windows.read("churn", now - timedelta(days=30), now)) == 3
    assert yard.stores.windows.prune(cutoff) == 2
    remaining = yard.stores.windows.read("churn", now - timedelta(days=30), now)
    assert [w.sketch["rows"] for w in remaining] == [3]
