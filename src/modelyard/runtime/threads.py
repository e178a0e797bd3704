"""Threads that never hold up the process, and blocking calls awaited with a deadline.

``concurrent.futures`` joins its pool threads when the interpreter exits, so one model
stuck in C code, or one database call that never returns, keeps a server alive past any
drain. These executors run daemon threads instead: a thread that is given up on is
abandoned (it exits when its call returns), never joined.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, InvalidStateError
from typing import Any, TypeVar

from modelyard.errors import StoreUnavailable

T = TypeVar("T")
_ids = itertools.count(1)


class DaemonExecutor(Executor):
    """Daemon threads taking calls from one queue, started on demand, at most ``workers``
    of them busy with calls younger than ``stuck_after`` seconds.

    With ``stuck_after`` set, a thread whose call has run longer is not counted: another
    is started in its place (up to ``max_threads`` in all), so calls that hang on a dead
    peer do not starve the ones made after it comes back.
    """

    def __init__(
        self,
        workers: int,
        name: str,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        *,
        stuck_after: float | None = None,
        max_threads: int | None = None,
    ) -> None:
        self.workers = workers
        self.name = name
        self.stuck_after = stuck_after
        self.max_threads = max_threads or workers
        self._initializer = initializer
        self._initargs = initargs
        self._calls: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._threads: set[threading.Thread] = set()
        self._running: dict[int, tuple[Future[Any], float]] = {}  # thread id → call, start
        self._idle = 0
        self._lock = threading.Lock()
        self._shutdown = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        self._put([(future, lambda: fn(*args, **kwargs))])
        return future

    def _put(self, items: list[_Item]) -> None:
        with self._lock:
            if self._shutdown:
                raise RuntimeError(f"{self.name}: cannot take calls after shutdown")
            for item in items:
                self._calls.put(item)
            while self._calls.qsize() > self._idle and self._room():
                thread = threading.Thread(
                    target=self._work, name=f"{self.name}-{next(_ids)}", daemon=True
                )
                self._threads.add(thread)
                self._idle += 1  # counted as idle until it takes its first call
                thread.start()

    def _room(self) -> bool:
        """Whether another thread may start: fewer than ``workers`` threads not stuck."""
        if len(self._threads) >= self.max_threads:
            return False
        stuck = 0
        if self.stuck_after is not None:
            now = time.monotonic()
            stuck = sum(now - since > self.stuck_after for _, since in self._running.values())
        return len(self._threads) - stuck < self.workers

    def _work(self) -> None:
        me = threading.get_ident()
        try:
            if self._initializer is not None:
                self._initializer(*self._initargs)
            while True:
                item = self._calls.get()
                with self._lock:
                    self._idle -= 1
                    if item is not None:
                        self._running[me] = (item[0], time.monotonic())
                if item is None:
                    return
                future, call = item
                if future.set_running_or_notify_cancel():
                    try:
                        result = call()
                    except BaseException as exc:  # delivered to whoever waits on the future
                        _settle(future, exc)
                    else:
                        _settle(future, result, ok=True)
                with self._lock:
                    self._running.pop(me, None)
                    self._idle += 1
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def running(self) -> list[tuple[Future[Any], float]]:
        """The calls being run now, with the monotonic time each started."""
        with self._lock:
            return list(self._running.values())

    def hand_over(self, other: DaemonExecutor) -> None:
        """Stop taking calls and give the ones not started yet to ``other``; threads end
        after the call they have (a stuck one whenever it returns)."""
        with self._lock:
            self._shutdown = True
            waiting = self._take_waiting()
            for _ in self._threads:
                self._calls.put(None)
        if waiting:
            other._put(waiting)

    def _take_waiting(self) -> list[_Item]:
        """Remove and return the calls no thread has taken yet."""
        waiting: list[_Item] = []
        while True:
            try:
                item = self._calls.get_nowait()
            except queue.Empty:
                return waiting
            if item is not None:
                waiting.append(item)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking calls; threads end after the calls they have. ``wait`` joins them,
        which is only safe when none can be stuck (abandon stuck ones with wait=False)."""
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
            threads = list(self._threads)
        if cancel_futures:
            for future, _ in self._take_waiting():
                future.cancel()
        for _ in threads:
            self._calls.put(None)
        if wait:
            for thread in threads:
                thread.join()


_Item = tuple[Future[Any], Callable[[], Any]]


def _settle(future: Future[Any], outcome: Any, ok: bool = False) -> None:
    """Set a call's outcome, unless someone settled it already (a call given up on)."""
    try:
        if ok:
            future.set_result(outcome)
        else:
            future.set_exception(outcome)
    except InvalidStateError:
        pass


class DeadlineCalls:
    """Blocking store calls made for a server, each awaited at most ``timeout`` seconds.

    A database that accepts connections but never answers would otherwise hang whoever
    waits, and fill the event loop's shared thread pool. Calls run on daemon threads of
    their own; past the deadline the caller gets :class:`StoreUnavailable` (the thread is
    left to finish or hang on its own, and no longer counts against ``workers``), and with
    ``max_pending`` calls unanswered, new ones are refused at once instead of queueing
    behind a dead database.
    """

    def __init__(
        self, name: str, *, timeout: float, workers: int = 2, max_pending: int = 64
    ) -> None:
        self.timeout = timeout
        self.max_pending = max_pending
        self._executor = DaemonExecutor(workers, name, stuck_after=timeout, max_threads=workers + 8)
        self._pending = 0
        self._lock = threading.Lock()

    async def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        limit = timeout or self.timeout
        with self._lock:
            if self._pending >= self.max_pending:
                raise StoreUnavailable(f"{self._pending} store calls are still unanswered")
            self._pending += 1
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            self._done()
            raise
        future.add_done_callback(self._done)
        answer = asyncio.wrap_future(future)
        answer.add_done_callback(_retrieve)  # a late failure must not be logged as lost
        try:
            return await asyncio.wait_for(asyncio.shield(answer), limit)
        except TimeoutError:
            raise StoreUnavailable(f"the store did not answer within {limit:g} s") from None

    def _done(self, _future: object = None) -> None:
        with self._lock:
            self._pending -= 1

    @property
    def pending(self) -> int:
        """Calls submitted and not returned yet (hung ones included)."""
        return self._pending

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
