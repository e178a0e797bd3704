"""Token buckets on an injected clock: bursts, refills, waits, bounded memory."""

import pytest

from modelyard.serving.buckets import Buckets, retry_after


def test_a_full_bucket_lets_a_burst_through_then_refills_at_the_rate() -> None:
    buckets = Buckets()
    assert [buckets.take("k", 0.0, rate=2, burst=3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("k", 0.0, rate=2, burst=3) == pytest.approx(0.5)
    assert buckets.take("k", 0.25, rate=2, burst=3) == pytest.approx(0.25)  # half a token
    assert buckets.take("k", 0.5, rate=2, burst=3) == 0.0
    assert buckets.take("k", 100.0, rate=2, burst=3) == 0.0  # refills to the burst, no more
    assert buckets.take("k", 100.0, rate=2, burst=3) == 0.0
    assert buckets.take("k", 100.0, rate=2, burst=3) == 0.0
    assert buckets.take("k", 100.0, rate=2, burst=3) > 0


def test_callers_have_buckets_of_their_own() -> None:
    buckets = Buckets()
    assert buckets.take("a", 0.0, rate=1, burst=1) == 0.0
    assert buckets.take("a", 0.0, rate=1, burst=1) == pytest.approx(1.0)
    assert buckets.take("b", 0.0, rate=1, burst=1) == 0.0


def test_failures_are_spent_even_past_empty_and_waits_spend_nothing() -> None:
    buckets = Buckets()
    assert buckets.wait("ip", 0.0, rate=0.5, burst=2) == 0.0  # never seen
    for _ in range(5):
        buckets.spend("ip", 0.0, rate=0.5, burst=2)
    assert buckets.wait("ip", 0.0, rate=0.5, burst=2) == pytest.approx(2.0)
    assert buckets.wait("ip", 0.0, rate=0.5, burst=2) == pytest.approx(2.0)
    assert buckets.wait("ip", 2.0, rate=0.5, burst=2) == 0.0


def test_memory_is_bounded_and_refilled_buckets_go_first() -> None:
    buckets = Buckets(max_entries=3)
    for _ in range(5):
        buckets.take("busy", 0.0, rate=0.5, burst=5)  # empty; full again at 10.0
    for who in ("idle-1", "idle-2"):
        buckets.take(who, 0.0, rate=100, burst=1)  # full again at 0.01
    buckets.take("new", 1.0, rate=1, burst=5)
    assert len(buckets) == 2  # the refilled ones went ...
    assert buckets.wait("busy", 1.0, rate=0.5, burst=5) == pytest.approx(1.0)  # ... not busy
    for who in ("x", "y"):
        buckets.take(who, 1.5, rate=1, burst=5)  # nothing refilled: the oldest goes
    assert len(buckets) == 3
    assert buckets.wait("busy", 1.5, rate=0.5, burst=5) == 0.0  # forgotten


def test_retry_after_is_whole_seconds_and_never_zero() -> None:
    assert [retry_after(w) for w in (0.01, 1.0, 1.2, 59.9)] == ["1", "1", "2", "60"]
    with pytest.raises(ValueError, match="max_entries must be at least 1"):
        Buckets(max_entries=0)
