"""One timer for many waits (runtime/expiry.py), on a real event loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from modelyard.runtime.expiry import COMPACT_AT, ExpiryQueue


class Ended(Exception):
    pass


def _counting_timers(loop: asyncio.AbstractEventLoop) -> list[float]:
    """The ends of the timers the queue arms, recorded as the real loop arms them."""
    armed: list[float] = []
    real = loop.call_at

    def call_at(when: float, callback: Any, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        if getattr(callback, "__self__", None).__class__ is ExpiryQueue:
            armed.append(when)
        return real(when, callback, *args, **kwargs)

    loop.call_at = call_at  # type: ignore[method-assign,assignment]
    return armed


def test_unanswered_waits_end_in_order_and_answered_ones_are_left_alone() -> None:
    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        queue = ExpiryQueue(Ended)
        seconds = 0.05
        futures = [loop.create_future() for _ in range(3)]
        for future in futures:
            queue.add(loop, future, seconds)
        futures[1].set_result("answered")
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        assert len(queue) == 0  # nothing left to wait for: the timer stopped
        return outcomes

    first, second, third = asyncio.run(main())
    assert isinstance(first, Ended)
    assert isinstance(third, Ended)
    assert second == "answered"


def test_a_wait_ends_no_sooner_than_its_timeout() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        queue = ExpiryQueue(Ended)
        seconds = 0.1
        future = loop.create_future()
        started = loop.time()
        queue.add(loop, future, seconds)
        with pytest.raises(Ended):
            await future
        return loop.time() - started

    assert asyncio.run(main()) >= 0.1 - 0.001  # the loop's timers may fire 1 ms early


def test_under_steady_answered_traffic_one_timer_serves_many_waits() -> None:
    async def main() -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()
        armed = _counting_timers(loop)
        queue = ExpiryQueue(Ended)
        seconds = 0.05
        added = 0
        until = loop.time() + 0.3
        while loop.time() < until:  # 100 requests a round, each answered a moment later
            batch = [loop.create_future() for _ in range(100)]
            for future in batch:
                queue.add(loop, future, seconds)
            added += len(batch)
            await asyncio.sleep(0.001)
            for future in batch:
                future.set_result(None)
        return added, len(armed), len(queue)

    added, timers, left = asyncio.run(main())
    # One timer per ~timeout (0.05 s over 0.3 s), however many requests came.
    assert timers <= 0.3 / 0.05 + 2
    assert added > 20 * timers
    assert left <= 100  # answered waits were dropped as newer ones came


def test_answered_waits_behind_a_long_one_are_dropped_all_the_same() -> None:
    async def main() -> tuple[int, bool]:
        loop = asyncio.get_running_loop()
        queue = ExpiryQueue(Ended)
        seconds = 60
        long = loop.create_future()  # still waiting at the head
        queue.add(loop, long, seconds)
        for _ in range(10 * COMPACT_AT):
            future = loop.create_future()
            queue.add(loop, future, seconds)
            future.set_result(None)
        return len(queue), long.done()

    size, long_ended = asyncio.run(main())
    assert size <= COMPACT_AT + 1  # not the 2,561 added
    assert not long_ended  # the wait still running was kept (its minute has not passed)


def test_a_shorter_deadline_added_later_ends_first() -> None:
    async def main() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        queue = ExpiryQueue(Ended)
        patient, hurried = loop.create_future(), loop.create_future()
        queue.add(loop, patient, 60)
        queue.add(loop, hurried, 0.05)  # moves the one timer earlier
        with pytest.raises(Ended):
            await asyncio.wait_for(hurried, 30)
        return patient.done(), len(queue) == 1

    patient_ended, one_left = asyncio.run(main())
    assert not patient_ended
    assert one_left
