"""Daemon executors and store calls with deadlines: real threads, real blocking calls."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest

from modelyard.errors import StoreUnavailable
from modelyard.runtime.threads import DaemonExecutor, DeadlineCalls


def test_calls_run_and_their_failures_reach_the_caller() -> None:
    executor = DaemonExecutor(2, "test")
    assert executor.submit(sum, [1, 2, 3]).result() == 6
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        executor.submit(lambda: 1 / 0).result()
    executor.shutdown()


def test_no_more_than_workers_threads_take_calls_at_once() -> None:
    executor = DaemonExecutor(2, "test")
    running, most = 0, 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    for future in [executor.submit(work) for _ in range(8)]:
        future.result()
    executor.shutdown()
    assert most == 2


def test_a_stuck_call_does_not_count_against_the_workers() -> None:
    executor = DaemonExecutor(1, "test", stuck_after=0.05, max_threads=3)
    release = threading.Event()
    stuck = executor.submit(release.wait, 10)
    while not executor.running() or time.monotonic() - executor.running()[0][1] <= 0.05:
        time.sleep(0.01)  # until it has run past stuck_after
    assert executor.submit(lambda: "answered").result(timeout=5) == "answered"
    release.set()
    assert stuck.result(timeout=5) is True
    executor.shutdown()


def test_a_process_with_a_stuck_daemon_call_still_exits() -> None:
    script = (
        "import threading\n"
        "from modelyard.runtime.threads import DaemonExecutor\n"
        "DaemonExecutor(1, 'stuck').submit(threading.Event().wait)\n"
        "print('bye')\n"
    )
    # A ThreadPoolExecutor here would keep the interpreter waiting at exit forever.
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "bye")


def test_a_store_call_past_its_deadline_is_unavailable_and_later_calls_still_run() -> None:
    calls = DeadlineCalls("test", timeout=0.1, workers=1)
    release = threading.Event()

    async def main() -> str:
        with pytest.raises(StoreUnavailable, match=r"did not answer within 0\.1 s"):
            await calls.call(release.wait, 10)
        return await calls.call(lambda: "fresh thread", timeout=5)

    assert asyncio.run(main()) == "fresh thread"
    assert calls.pending == 1  # the hung one
    release.set()
    calls.close()


def test_store_calls_refuse_at_once_when_too_many_are_unanswered() -> None:
    calls = DeadlineCalls("test", timeout=0.05, workers=1, max_pending=2)
    release = threading.Event()

    async def main() -> None:
        for _ in range(2):
            with pytest.raises(StoreUnavailable, match="did not answer"):
                await calls.call(release.wait, 10)
        with pytest.raises(StoreUnavailable, match="2 store calls are still unanswered"):
            await calls.call(lambda: None)

    asyncio.run(main())
    release.set()
    calls.close()
