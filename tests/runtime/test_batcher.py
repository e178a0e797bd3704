"""The micro-batcher on a real model: batching under load, no wait when idle, bounds."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent import futures

import numpy as np
import pytest
from tests.integration.models_for_serving import HANG_VALUE, HangingClassifier

from modelyard import Yard
from modelyard.domain.endpoints import Limits
from modelyard.errors import NotReady, Overloaded, TimedOut
from modelyard.runtime.admission import QueueMemory, row_bytes
from modelyard.runtime.batcher import MIN_SLICE_ROWS, QUIET_STEPS, SLICE_SECONDS, MicroBatcher
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


def test_each_answer_names_the_model_call_it_shares_and_where_its_rows_start(
    runner, cancer
) -> None:
    batcher = MicroBatcher(runner, Limits(max_batch=16))

    async def main():
        outputs = await asyncio.gather(
            *(batcher.submit(_rows(runner, cancer, 3 * i, count=i + 1)) for i in range(6))
        )
        await batcher.close()
        return outputs

    outputs = asyncio.run(main())
    for i, output in enumerate(outputs):
        call = output.call
        assert call is not None
        rows = slice(output.first, output.first + i + 1)
        assert np.array_equal(call.output.predictions[rows], output.predictions)
        assert np.array_equal(call.output.probabilities[rows], output.probabilities)
        assert np.array_equal(
            call.columns.frame().to_numpy()[rows], cancer[0].iloc[3 * i : 4 * i + 1].to_numpy()
        )
    assert len({id(o.call) for o in outputs}) < len(outputs)  # some shared a call


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


def _arriving(batcher: MicroBatcher, jobs, gaps: list[int]) -> list[object]:
    """Submit ``jobs[0]``, then each next one after ``gaps[i]`` loop steps (as requests
    read from sockets one loop step after another); the answers, then close."""

    async def main() -> list[object]:
        pending = [asyncio.ensure_future(batcher.submit(jobs[0]))]
        for job, gap in zip(jobs[1:], gaps, strict=True):
            for _ in range(gap):
                await asyncio.sleep(0)
            pending.append(asyncio.ensure_future(batcher.submit(job)))
        results = await asyncio.gather(*pending)
        await batcher.close()
        return results

    return asyncio.run(main())


def test_requests_that_keep_arriving_join_the_batch_being_gathered(runner, cancer) -> None:
    """One a loop step: all in one call (a single yield took only the first two)."""
    sizes: list[int] = []
    batcher = MicroBatcher(runner, Limits(max_wait_ms=1_000), on_batch=lambda n, _: sizes.append(n))
    jobs = [_rows(runner, cancer, i) for i in range(12)]
    _arriving(batcher, jobs, gaps=[1] * 11)
    assert sizes == [12]


def test_a_batch_stops_gathering_once_loop_steps_bring_nothing(runner, cancer) -> None:
    """However long ``max_wait_ms``: a request after a few quiet steps is the next call's."""
    sizes: list[int] = []
    batcher = MicroBatcher(runner, Limits(max_wait_ms=1_000), on_batch=lambda n, _: sizes.append(n))
    jobs = [_rows(runner, cancer, i) for i in range(4)]
    _arriving(batcher, jobs, gaps=[1, 1, QUIET_STEPS + 3])
    assert sizes == [3, 1]


def test_gathering_stops_at_the_batch_room(runner, cancer) -> None:
    sizes: list[int] = []
    batcher = MicroBatcher(
        runner, Limits(max_batch=4, max_wait_ms=1_000), on_batch=lambda n, _: sizes.append(n)
    )
    jobs = [_rows(runner, cancer, i) for i in range(12)]
    _arriving(batcher, jobs, gaps=[1] * 11)
    assert sizes[0] == 4
    assert sum(sizes) == 12


def test_gathering_stops_in_time_for_its_most_pressed_request(runner, cancer) -> None:
    """A request with 2 s left, at 100 ms a row: the call must start by about 20 rows (a
    deadline far above a loaded machine's scheduling delays)."""
    runner.cost.seconds_per_row = 0.1  # injected
    sizes: list[int] = []
    batcher = MicroBatcher(runner, Limits(max_wait_ms=1_000), on_batch=lambda n, _: sizes.append(n))

    async def main() -> list[object]:
        pressed = asyncio.ensure_future(batcher.submit(_rows(runner, cancer, 0), 2.0))
        others = []
        for i in range(1, 40):
            await asyncio.sleep(0)
            others.append(asyncio.ensure_future(batcher.submit(_rows(runner, cancer, i))))
        results = await asyncio.gather(pressed, *others, return_exceptions=True)
        await batcher.close()
        return results

    results = asyncio.run(main())
    assert not any(isinstance(r, Exception) for r in results)
    assert sizes[0] <= 21
    assert sum(sizes) == 40


def test_no_gathering_when_no_other_request_is_being_received(runner, cancer) -> None:
    sizes: list[int] = []
    batcher = MicroBatcher(
        runner,
        Limits(max_wait_ms=1_000),
        on_batch=lambda n, _: sizes.append(n),
        crowded=lambda: False,
    )
    jobs = [_rows(runner, cancer, i) for i in range(3)]
    _arriving(batcher, jobs, gaps=[1, 1])
    assert sizes[0] == 1  # ran alone, though the next arrived a loop step later
    assert sum(sizes) == 3


def _submit_all(batcher: MicroBatcher, jobs, deadline: float | None = None) -> list[object]:
    """Submit every job in one tick (none runs before the last is queued), then close."""

    async def main() -> list[object]:
        results = await asyncio.gather(
            *(batcher.submit(job, deadline) for job in jobs), return_exceptions=True
        )
        await batcher.close()
        return results

    return asyncio.run(main())


def test_requests_the_queued_work_cannot_answer_in_time_are_refused(runner, cancer) -> None:
    runner.cost.seconds_per_row = 0.05  # injected: 4 rows fit in 200 ms
    batcher = MicroBatcher(runner, Limits(max_batch=1, timeout_ms=200))
    results = _submit_all(batcher, [_rows(runner, cancer, i) for i in range(10)])
    refused = [r for r in results if isinstance(r, Overloaded)]
    assert len(refused) == 6  # the 5th has 4 rows ahead: (4 + 1) × 50 ms > 200 ms
    assert refused[0].retry_after == 1
    assert "expected wait 250 ms (4 rows ahead at 50.000 ms per row)" in str(refused[0])
    assert "deadline of 200 ms (the endpoint's timeout_ms)" in str(refused[0])


def test_a_shorter_deadline_of_its_own_is_judged_and_a_longer_one_capped(runner, cancer) -> None:
    runner.cost.seconds_per_row = 1.0  # injected
    batcher = MicroBatcher(runner, Limits(timeout_ms=2_000))
    jobs = [_rows(runner, cancer, 0), _rows(runner, cancer, 1, count=4)]
    first, second = _submit_all(batcher, jobs, deadline=1.5)
    assert not isinstance(first, Exception)  # nothing ahead: never refused
    assert isinstance(second, Overloaded)
    assert second.retry_after == 4  # 5 s expected against 1.5 s: back in 3.5 s
    assert "exceeds this request's deadline of 1500 ms (the deadline it asked for)" in str(second)
    batcher = MicroBatcher(runner, Limits(timeout_ms=2_000))
    _, capped = _submit_all(batcher, jobs, deadline=60.0)
    assert isinstance(capped, Overloaded)
    assert "deadline of 2000 ms (the endpoint's timeout_ms)" in str(capped)


def test_queued_bytes_are_bounded_but_an_idle_process_takes_any_request(runner, cancer) -> None:
    big = _rows(runner, cancer, 0, count=100)
    memory = QueueMemory(100 * row_bytes(runner.predictor.signature) // 2)
    batcher = MicroBatcher(runner, Limits(), memory=memory)
    first, second = _submit_all(batcher, [big, _rows(runner, cancer, 1)])
    assert not isinstance(first, Exception)
    assert isinstance(second, Overloaded)
    assert "MODELYARD_MAX_QUEUED_BYTES" in str(second)
    assert memory.used == 0  # all given back


def test_a_large_request_runs_in_slices_and_small_ones_pass_between(runner, cancer, logreg) -> None:
    runner.cost.seconds_per_row = SLICE_SECONDS / 32  # injected: slices of 32 rows at first
    sizes: list[int] = []
    batcher = MicroBatcher(runner, Limits(max_batch=16), on_batch=lambda n, _: sizes.append(n))
    finished: list[str] = []

    async def answer(name: str, columns):
        output = await batcher.submit(columns)
        finished.append(name)
        return output

    async def main():
        outputs = await asyncio.gather(
            answer("large", _rows(runner, cancer, 0, count=400)),
            answer("small", _rows(runner, cancer, 400)),
        )
        await batcher.close()
        return outputs

    large, small = asyncio.run(main())
    assert finished == ["small", "large"]
    assert sizes[:2] == [32, 1]  # a slice of the large one, then the small one
    assert sum(sizes) == 401
    assert large.predictions.tolist() == logreg.predict(cancer[0].iloc[:400]).tolist()
    assert large.probabilities.shape == (400, 2)
    assert large.call is None  # joined from several calls: it shares none
    assert small.call is not None
    assert small.predictions.tolist() == logreg.predict(cancer[0].iloc[400:401]).tolist()


def _batch_sizes(runner, cancer, limits: Limits, requests: list[int]) -> list[int]:
    sizes: list[int] = []
    batcher = MicroBatcher(runner, limits, on_batch=lambda n, _: sizes.append(n))

    async def main() -> None:
        start = 0
        calls = []
        for count in requests:
            calls.append(batcher.submit(_rows(runner, cancer, start, count)))
            start += count
        await asyncio.gather(*calls)
        await batcher.close()

    asyncio.run(main())
    assert sum(sizes) == sum(requests)
    return sizes


def test_merged_batches_stop_at_about_a_slice_of_model_time(runner, cancer) -> None:
    runner.cost.seconds_per_row = SLICE_SECONDS / 100  # injected: 100 rows fill a slice
    sizes = _batch_sizes(runner, cancer, Limits(), [1] * 300)  # max_batch 1,024 by default
    assert sizes[0] == 100


def test_a_slow_model_still_merges_and_slices_at_least_the_floor(runner, cancer) -> None:
    patient = Limits(timeout_ms=3_600_000)  # admitted: 200 rows are 200 s at this cost
    runner.cost.seconds_per_row = 1.0  # injected: a second a row, so a slice is 0 rows
    assert _batch_sizes(runner, cancer, patient, [1] * 100)[0] == MIN_SLICE_ROWS
    runner.cost.seconds_per_row = 1.0
    sliced = _batch_sizes(runner, cancer, patient, [200])
    assert sliced == [MIN_SLICE_ROWS] * 3 + [200 - 3 * MIN_SLICE_ROWS]


def test_a_request_that_waits_too_long_times_out(runner, cancer) -> None:
    batcher = MicroBatcher(runner, Limits(timeout_ms=1))
    blocker = runner.executor.submit(time.sleep, 0.3)  # the model thread is busy

    async def main() -> None:
        with pytest.raises(TimedOut, match="no prediction within 1 ms"):
            await batcher.submit(_rows(runner, cancer, 0))
        futures.wait([blocker])  # it may end given up on: its thread ran too long
        await batcher.close()

    asyncio.run(main())


def test_timed_out_requests_leave_the_queue(runner, cancer) -> None:
    # The first batch waits behind the blocker; the five after it time out in the queue
    # (200 ms) before the first is taken as stuck (400 ms after it started).
    batcher = MicroBatcher(runner, Limits(timeout_ms=200))
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
        futures.wait([blocker])
        await asyncio.gather(first, return_exceptions=True)
        await batcher.close()
        return waiting

    assert asyncio.run(main()) == 0


@pytest.fixture
def hanging(sqlite_yard: Yard, cancer, tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A runner over a model whose calls hang on a marked row while a flag file exists."""
    flag = tmp_path / "hang"
    monkeypatch.setenv("HANG_WHILE", str(flag))
    X, y = cancer
    sqlite_yard.register(HangingClassifier().fit(X, y), "hang", sample=X, trust_types=True)
    runner = ModelRunner(sqlite_yard.load("hang@1"))
    yield runner, flag
    flag.unlink(missing_ok=True)
    runner.close()


def _hang_row(runner: ModelRunner, cancer):
    row = cancer[0].iloc[:1].copy()
    row.iloc[0, 0] = HANG_VALUE
    return from_frame(runner.predictor.signature, row)


def _eventually(done, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


def test_a_hung_model_call_is_abandoned_and_the_next_batch_runs_on_a_fresh_thread(
    hanging, cancer
) -> None:
    runner, flag = hanging
    batcher = MicroBatcher(runner, Limits(timeout_ms=50))
    flag.touch()

    async def main() -> list[int]:
        with pytest.raises(TimedOut, match="no prediction within 50 ms"):
            await batcher.submit(_hang_row(runner, cancer))
        while runner.abandoned < 1:  # the watchdog gives it up at twice the timeout
            await asyncio.sleep(0.01)
        output = await batcher.submit(_rows(runner, cancer, 1))  # on a fresh thread
        await batcher.close()
        return output.predictions.tolist()

    assert asyncio.run(main()) == [1]
    assert (runner.abandoned, runner.stuck) == (1, 1)
    flag.unlink()
    _eventually(lambda: runner.stuck == 0)  # the call returned; its thread ended


def test_one_hung_call_counts_once_however_many_batchers_share_the_runner(hanging, cancer) -> None:
    runner, flag = hanging
    mine = MicroBatcher(runner, Limits(timeout_ms=50))
    other = MicroBatcher(runner, Limits(timeout_ms=5_000))  # e.g. a shadow of the version
    flag.touch()

    async def main() -> None:
        hung = asyncio.ensure_future(mine.submit(_hang_row(runner, cancer)))
        await asyncio.sleep(0.01)
        answer = await other.submit(_rows(runner, cancer, 1))  # queued behind the hang
        assert answer.predictions.tolist() == [1]
        with pytest.raises(TimedOut, match="no prediction"):
            await hung
        await mine.close()
        await other.close()

    asyncio.run(main())
    assert (runner.abandoned, runner.stuck) == (1, 1)


def test_a_version_with_too_many_hung_calls_is_not_ready_until_they_return(hanging, cancer) -> None:
    runner, flag = hanging
    batcher = MicroBatcher(runner, Limits(timeout_ms=20))
    flag.touch()

    async def main() -> None:
        for count in range(1, MAX_STUCK + 1):
            with pytest.raises(TimedOut, match="no prediction"):
                await batcher.submit(_hang_row(runner, cancer))
            while runner.stuck < count:  # the watchdog gives it up at 40 ms
                await asyncio.sleep(0.01)
        with pytest.raises(NotReady, match=f"{MAX_STUCK} model calls have not returned"):
            await batcher.submit(_rows(runner, cancer, 0))
        flag.unlink()
        while not runner.ready:
            await asyncio.sleep(0.01)
        # They returned: ready again. Asked with a generous deadline, so a loaded machine
        # cannot turn this normal call into one more timed-out (and abandoned) call.
        patient = MicroBatcher(runner, Limits(timeout_ms=10_000))
        await patient.submit(_rows(runner, cancer, 0))
        await patient.close()
        await batcher.close()

    asyncio.run(main())


def test_a_long_model_call_leaves_the_event_loop_free(hanging, cancer) -> None:
    """Short calls are waited for on the loop's thread (runtime/batcher.py, _short_wait);
    a call past that bound is awaited, so the loop keeps serving meanwhile."""
    runner, flag = hanging
    batcher = MicroBatcher(runner, Limits(timeout_ms=10_000))
    flag.touch()

    async def main() -> bool:
        await batcher.submit(_rows(runner, cancer, 1))  # the thread's start, out of the way
        batcher._misses = batcher._skip = 0  # (a first call may run past the short wait)
        held = asyncio.ensure_future(batcher.submit(_hang_row(runner, cancer)))
        for _ in range(50):  # a ticker on the loop while the call hangs
            await asyncio.sleep(0.01)
        hung_while_ticking = not held.done()
        assert batcher._misses == 1  # it was tried on the loop, and the wait ran out
        # counted as running: another version's call now is awaited, not waited for
        from modelyard.runtime import batcher as batching

        assert batching._calls_running == 1
        flag.unlink()  # (were the loop held by the call, nothing here would run)
        output = await held
        assert output.predictions.tolist() == [1]
        assert batching._calls_running == 0
        await batcher.close()
        return hung_while_ticking

    assert asyncio.run(main())


def test_waits_that_run_out_make_the_next_tries_rarer(runner) -> None:
    """After n short waits in a row ran out, 2**n - 1 batches are awaited untried; an
    answer in time starts over (runtime/batcher.py, _short_wait)."""
    from modelyard.runtime.batcher import MAX_SKIPPED
    from modelyard.runtime.runner import Output

    batcher = MicroBatcher(runner, Limits())
    never: futures.Future[Output] = futures.Future()  # a call still running
    tried = []
    for _ in range(12):
        skip_before = batcher._skip
        assert batcher._short_wait(never) is None
        tried.append(skip_before == 0)
    # tried at batches 1, 3 and 7; skipped 1, then 3, then 7 after them
    assert tried == [True, False, True, False, False, False, True] + [False] * 5
    answered: futures.Future[Output] = futures.Future()
    answered.set_result(Output(np.array([1]), None))
    while batcher._skip:
        assert batcher._short_wait(answered) is None  # skipped, even though it is done
    assert batcher._short_wait(answered) is answered.result()
    assert (batcher._misses, batcher._skip) == (0, 0)
    batcher._misses = 40
    assert batcher._short_wait(never) is None
    assert batcher._skip == MAX_SKIPPED
    off = MicroBatcher(runner, Limits(), short_waits=False)  # a server with gRPC
    assert off._short_wait(answered) is None


def test_a_request_queued_behind_a_running_call_still_gathers_company(hanging, cancer) -> None:
    """``max_wait_ms`` counts from when the model came free, not from when a request queued
    behind a long call: that wait was for the model, not for company."""
    runner, flag = hanging
    sizes: list[int] = []
    feeding: list[asyncio.Future[object]] = []

    def feed() -> None:  # the callers answered by the long call come back, a step apart
        async def arrive() -> None:
            for i in range(3):
                feeding.append(asyncio.ensure_future(batcher.submit(_rows(runner, cancer, i))))
                await asyncio.sleep(0)

        if not feeding:
            feeding.append(asyncio.ensure_future(arrive()))

    batcher = MicroBatcher(
        runner,
        Limits(max_wait_ms=250, timeout_ms=30_000),
        on_batch=lambda n, _: (sizes.append(n), feed()),
    )
    flag.touch()

    async def main() -> None:
        long_call = asyncio.ensure_future(batcher.submit(_hang_row(runner, cancer)))
        await asyncio.sleep(0.05)  # running on the model's thread
        behind = asyncio.ensure_future(batcher.submit(_rows(runner, cancer, 5)))
        await asyncio.sleep(1.0)  # queued four times max_wait_ms
        flag.unlink()
        await asyncio.gather(long_call, behind)
        while len(feeding) < 4:
            await asyncio.sleep(0)
        await asyncio.gather(*feeding)
        await batcher.close()

    asyncio.run(main())
    assert sizes == [1, 4]
