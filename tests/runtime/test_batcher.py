"""The micro-batcher on a real model: batching under load, no wait when idle, bounds."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from modelyard import Yard
from modelyard.domain.endpoints import Limits
from modelyard.errors import NotReady, Overloaded, TimedOut
from modelyard.runtime.batcher import MicroBatcher
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.runner import MAX_STUCK, ModelRunner


@pytest.fixture
def runner(sqlite_yard: Yard, logreg, cancer):
    sqlite_yard.register(logreg, "churn", sample=cancer[0])
    runner = ModelRunner(sqlite_yard.load("churn@1"))
    yield runner
    runner.close()


def _rows(runner: ModelRunner, cancer, start: int, count: int = 1):
    return from_frame(runner.predictor.signature, cancer[0].iloc[start : start + count])


def test_concurrent_requests_share_batches_and_get_their_own_rows(runner, cancer, logreg) -> None:
    sizes: list[int] = []
    batcher = MicroBatcher(runner, Limits(max_batch=16), on_batch=lambda n, _: sizes.append(n))

    async def main() -> list[np.ndarray]:
        outputs = await asyncio.gather(
            *(batcher.submit(_rows(runner, cancer, i)) for i in range(40))
        )
        await batcher.close()
        return [o.predictions for o in outputs]

    predictions = asyncio.run(main())
    expected = logreg.predict(cancer[0].iloc[:40])
    assert [int(p[0]) for p in predictions] == expected.tolist()
    assert sum(sizes) == 40
    assert max(sizes) <= 16
    assert len(sizes) < 40  # some requests were batched together


def test_an_idle_request_runs_at_once(runner, cancer) -> None:
    batcher = MicroBatcher(runner, Limits(max_wait_ms=500))

    async def main() -> float:
        await batcher.submit(_rows(runner, cancer, 0))  # warm the thread
        started = time.perf_counter()
        await batcher.submit(_rows(runner, cancer, 1))
        elapsed = time.perf_counter() - started
        await batcher.close()
        return elapsed

    assert asyncio.run(main()) < 0.5  # never waits out max_wait_ms when nothing else queues


def test_a_full_queue_refuses_instead_of_waiting(runner, cancer) -> None:
    batcher = MicroBatcher(runner, Limits(max_batch=1, queue_rows=3))

    async def main() -> list[object]:
        results = await asyncio.gather(
            *(batcher.submit(_rows(runner, cancer, i)) for i in range(10)), return_exceptions=True
        )
        await batcher.close()
        return results

    results = asyncio.run(main())
    refused = [r for r in results if isinstance(r, Overloaded)]
    assert refused
    assert "queue full" in str(refused[0])


def test_a_request_that_waits_too_long_times_out(runner, cancer) -> None:
    batcher = MicroBatcher(runner, Limits(timeout_ms=1))
    blocker = runner.executor.submit(time.sleep, 0.3)  # the model thread is busy

    async def main() -> None:
        with pytest.raises(TimedOut, match="no prediction within 1 ms"):
            await batcher.submit(_rows(runner, cancer, 0))
        blocker.result()
        await batcher.close()

    asyncio.run(main())


def test_timed_out_requests_leave_the_queue(runner, cancer) -> None:
    # The first batch waits behind the blocker; the five after it time out in the queue
    # (200 ms) before the first is taken as stuck (400 ms after it started).
    batcher = MicroBatcher(runner, Limits(timeout_ms=200, queue_rows=10))
    release = threading.Event()
    blocker = runner.executor.submit(release.wait, 5)

    async def main() -> int:
        first = asyncio.ensure_future(batcher.submit(_rows(runner, cancer, 0)))
        await asyncio.sleep(0.05)  # the first one is in the model thread's queue now
        results = await asyncio.gather(
            *(batcher.submit(_rows(runner, cancer, i)) for i in range(1, 6)), return_exceptions=True
        )
        assert all(isinstance(r, TimedOut) for r in results)
        waiting = batcher.queued_rows
        release.set()
        blocker.result()
        await asyncio.gather(first, return_exceptions=True)
        await batcher.close()
        return waiting

    assert asyncio.run(main()) == 0


def test_a_stuck_model_call_is_abandoned_and_the_next_batch_runs_on_a_fresh_thread(
    runner, cancer, logreg
) -> None:
    batcher = MicroBatcher(runner, Limits(timeout_ms=50))
    release = threading.Event()
    hung = runner.executor.submit(release.wait, 10)  # the model thread is stuck

    async def main() -> None:
        with pytest.raises(TimedOut, match="no prediction within 50 ms"):
            await batcher.submit(_rows(runner, cancer, 0))
        await asyncio.sleep(0.2)  # the batch is taken as stuck at 100 ms
        output = await batcher.submit(_rows(runner, cancer, 1))
        assert output.predictions.tolist() == logreg.predict(cancer[0].iloc[1:2]).tolist()
        await batcher.close()

    asyncio.run(main())
    assert (runner.abandoned, runner.stuck) == (1, 1)
    release.set()
    hung.result(timeout=5)


def test_a_version_with_too_many_stuck_calls_is_not_ready(runner, cancer) -> None:
    batcher = MicroBatcher(runner, Limits(timeout_ms=20))
    release = threading.Event()

    async def main() -> None:
        for _ in range(MAX_STUCK):
            runner.executor.submit(release.wait, 10)
            with pytest.raises(TimedOut, match="no prediction"):
                await batcher.submit(_rows(runner, cancer, 0))
            await asyncio.sleep(0.1)  # taken as stuck at 40 ms
        with pytest.raises(NotReady, match=f"{MAX_STUCK} model calls have not returned"):
            await batcher.submit(_rows(runner, cancer, 0))
        release.set()
        await asyncio.sleep(0.2)
        await batcher.submit(_rows(runner, cancer, 0))  # they returned: ready again
        await batcher.close()

    asyncio.run(main())
    assert runner.ready
