"""Adaptive micro-batching: requests that arrive while the model is busy run together.

There is no timer on the idle path: a request that finds the queue empty is run at once,
so batching adds no latency at low load. Under load, requests queue while the model
computes and the next batch takes everything queued (up to ``max_batch`` rows). Before a
batch is closed the batcher yields to the event loop once, so requests whose bytes have
already arrived can join; ``max_wait_ms`` bounds how long it keeps collecting that way.
The queue is bounded in rows: past it, :class:`Overloaded` (HTTP 503) instead of latency.

A model call still running when the endpoint's timeout has passed twice over is taken as
stuck (the runner's watchdog gives it up: its callers have had their 504 already), and the
next batch runs on a fresh thread, so one hung call does not time out every request after it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from modelyard.domain.endpoints import Limits
from modelyard.errors import NotReady, Overloaded, TimedOut
from modelyard.runtime.inputs import Columns
from modelyard.runtime.runner import ModelRunner, Output

log = logging.getLogger(__name__)

BatchObserver = Callable[[int, float], None]  # (rows in the batch, seconds spent)


@dataclass
class _Job:
    columns: Columns
    future: asyncio.Future[Output]
    queued_at: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    def __init__(
        self,
        runner: ModelRunner,
        limits: Limits,
        on_batch: BatchObserver | None = None,
        crowded: Callable[[], bool] | None = None,
    ) -> None:
        self.runner = runner
        self.limits = limits
        self._stuck_after = 2 * limits.timeout_ms / 1000  # see runtime/runner.py
        self.on_batch = on_batch
        # Whether other requests are being received right now; when none are, yielding to
        # the loop for company would only add latency.
        self.crowded = crowded
        self._queue: deque[_Job] = deque()
        self._queued_rows = 0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    async def submit(self, columns: Columns) -> Output:
        if self._closed:
            raise Overloaded("this model version is shutting down")
        if not self.runner.ready:
            raise NotReady(
                f"{self.runner.predictor.ref} is not ready: {self.runner.stuck} model calls "
                "have not returned"
            )
        if self._queued_rows + columns.rows > self.limits.queue_rows and self._queue:
            raise Overloaded(
                f"queue full ({self._queued_rows} rows waiting, limit {self.limits.queue_rows})"
            )
        loop = asyncio.get_running_loop()
        job = _Job(columns, loop.create_future())
        self._queue.append(job)
        self._queued_rows += columns.rows
        self._ensure_running()
        assert self._wakeup is not None
        self._wakeup.set()
        try:
            return await asyncio.wait_for(job.future, self.limits.timeout_ms / 1000)
        except TimeoutError:
            self._forget(job)
            ref = self.runner.predictor.ref
            raise TimedOut(f"no prediction within {self.limits.timeout_ms:g} ms ({ref})") from None

    def _forget(self, job: _Job) -> None:
        """A job given up on while still queued leaves the queue (and its row count)."""
        try:
            self._queue.remove(job)
        except ValueError:
            return  # already taken into a batch
        self._queued_rows -= job.columns.rows

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while not self._closed or self._queue:
            if not self._queue:
                if self._closed:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._take()
            try:
                if (
                    self._rows(batch) < self.limits.max_batch
                    and self.limits.max_wait_ms > 0
                    and (self.crowded is None or self.crowded())
                ):
                    deadline = batch[0].queued_at + self.limits.max_wait_ms / 1000
                    await asyncio.sleep(0)  # let requests already received enqueue
                    if time.perf_counter() < deadline:
                        batch.extend(self._take(self.limits.max_batch - self._rows(batch)))
                batch = [job for job in batch if not job.future.done()]  # timed out meanwhile
                if not batch:
                    continue
                output = await self._compute(loop, batch)
            except Exception as exc:  # delivered to every caller of this batch; the loop goes on
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            self._deliver(batch, output)

    async def _compute(self, loop: asyncio.AbstractEventLoop, batch: list[_Job]) -> Output:
        columns = Columns.concat([job.columns for job in batch])
        started = time.perf_counter()
        try:
            call = self.runner.submit(columns, self._stuck_after)
            return await asyncio.wrap_future(call, loop=loop)
        finally:
            if self.on_batch is not None:
                try:
                    self.on_batch(columns.rows, time.perf_counter() - started)
                except Exception:  # an observer never breaks serving
                    log.exception("batch observer failed")

    def _take(self, room: int | None = None) -> list[_Job]:
        room = self.limits.max_batch if room is None else room
        if room <= 0:
            return []
        taken: list[_Job] = []
        rows = 0
        while self._queue and (not taken or rows + self._queue[0].columns.rows <= room):
            job = self._queue.popleft()
            self._queued_rows -= job.columns.rows
            taken.append(job)
            rows += job.columns.rows
        return taken

    @staticmethod
    def _rows(batch: list[_Job]) -> int:
        return sum(job.columns.rows for job in batch)

    @staticmethod
    def _deliver(batch: list[_Job], output: Output) -> None:
        start = 0
        for job in batch:
            end = start + job.columns.rows
            if not job.future.done():
                job.future.set_result(
                    Output(
                        output.predictions[start:end],
                        None if output.probabilities is None else output.probabilities[start:end],
                    )
                )
            start = end

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        self._closed = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            await self._task
