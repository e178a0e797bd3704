"""Adaptive micro-batching: requests that arrive while the model is busy run together.

There is no timer on the idle path: a request that finds the queue empty is run at once,
so batching adds no latency at low load. Under load, requests queue while the model
computes and the next batch takes everything queued (up to ``max_batch`` rows, and no more
than the model runs in about ``SLICE_SECONDS``: merging pays for a call's fixed cost, but
makes the first request of a long batch wait for the last). Before a
batch is closed the batcher yields to the event loop for as long as requests keep arriving,
so the callers just answered can join before the next call; ``max_wait_ms`` bounds how long
it keeps collecting that way, two loop steps in a row that bring none end it, and it never
gathers when no other request is being received.

A request is admitted when the rows ahead of it and its own, at what a row has cost this
version lately, fit in its deadline (runtime/admission.py); otherwise :class:`Overloaded`
(HTTP 503) with the time to come back, instead of a wait that would end in a timeout.
Queued rows are bounded in bytes per process, as a memory bound only. A request whose
rows would hold the model longer than ``SLICE_SECONDS`` runs in slices taken in turn with
the other queued requests, so one large request does not hold up every small one.

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
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from modelyard.domain.endpoints import Limits
from modelyard.errors import NotReady, Overloaded, TimedOut
from modelyard.runtime.admission import QueueMemory, judge, row_bytes
from modelyard.runtime.expiry import ExpiryQueue
from modelyard.runtime.inputs import Columns
from modelyard.runtime.runner import ModelCall, ModelRunner, Output

log = logging.getLogger(__name__)

BatchObserver = Callable[[int, float], None]  # (rows in the batch, seconds spent)
SLICE_SECONDS = 0.02  # a large request runs in slices of about this much model time
MIN_SLICE_ROWS = 64  # ... of at least this many rows (or max_batch, if smaller)
DEFAULT_QUEUE_BYTES = 256 * 1024 * 1024  # MODELYARD_MAX_QUEUED_BYTES's default
# A model call is waited for on the event loop's thread this long at most (_short_wait);
# after waits that ran out, up to this many batches are awaited without trying.
SHORT_CALL_SECONDS = 0.004
MAX_SKIPPED = 1023
QUIET_STEPS = 2  # a batch stops gathering after this many loop steps that queued nothing
# Model calls this process's batchers await (they all run on one event loop): a call is
# waited for on the loop only when it is the only one, so calls of other versions, an
# endpoint's shadows included, still overlap and never wait behind each other.
_calls_running = 0


@dataclass(eq=False, slots=True)
class _Job:
    columns: Columns
    future: asyncio.Future[Output]
    nbytes: int
    cap: int  # rows it runs in at a time: all of them, or a slice of a large one
    queued_at: float = field(default_factory=time.perf_counter)
    due: float = 0.0  # when its deadline ends (perf_counter)
    taken: int = 0  # rows already handed to batches (a large job goes in slices)
    piece: tuple[int, int] | None = None  # in the batch being run: these rows only
    parts: list[Output] | None = None  # the answers to its slices so far


class MicroBatcher:
    def __init__(
        self,
        runner: ModelRunner,
        limits: Limits,
        on_batch: BatchObserver | None = None,
        crowded: Callable[[], bool] | None = None,
        memory: QueueMemory | None = None,
        short_waits: bool = True,
    ) -> None:
        self.runner = runner
        self.limits = limits
        self.cost = runner.cost  # shared by every endpoint batching on this version
        self.memory = memory or QueueMemory(DEFAULT_QUEUE_BYTES)
        self._row_bytes = row_bytes(runner.predictor.signature)
        self._timeout = limits.timeout_ms / 1000
        self._stuck_after = 2 * self._timeout  # see runtime/runner.py
        self._expiry = ExpiryQueue(_Expired)  # one timer for every request's deadline
        self.on_batch = on_batch
        # Whether other requests are being received right now; when none are, yielding to
        # the loop for company would only add latency.
        self.crowded = crowded
        self._queue: deque[_Job] = deque()
        self._queued_rows = 0
        # Rows the model runs before a request queued now: what is queued, counting at
        # most one slice of each large job (the next comes after the newcomer), and the
        # batch it is computing now.
        self._ahead_rows = 0
        self._running_rows = 0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._short_waits = short_waits  # see _short_wait
        self._misses = 0  # short waits in a row that ran out
        self._skip = 0  # batches left to await without trying one
        self._free_at = 0.0  # when the last model call ended (perf_counter)

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    @property
    def expected_wait(self) -> float:
        """Seconds the rows queued and running here take at this version's cost per row."""
        return self.cost.seconds_for(self._ahead_rows + self._running_rows)

    async def submit(self, columns: Columns, deadline: float | None = None) -> Output:
        """The answer to ``columns``, within ``deadline`` seconds (at most, and by default,
        the endpoint's timeout), or :class:`Overloaded` at once when that cannot be."""
        if self._closed:
            raise Overloaded("this model version is shutting down")
        if not self.runner.ready:
            raise NotReady(
                f"{self.runner.predictor.ref} is not ready: {self.runner.stuck} model calls "
                "have not returned"
            )
        if deadline is None or deadline >= self._timeout:
            deadline = self._timeout
        rows = columns.rows
        ahead = self._ahead_rows + self._running_rows
        # judge()'s test, inline on the hot path; judge() itself words the refusal.
        if ahead and (ahead + rows) * self.cost.seconds_per_row > deadline:
            self._refuse(ahead, rows, deadline)
        nbytes = rows * self._row_bytes
        memory = self.memory
        used = memory.used
        if used and used + nbytes > memory.limit:
            raise Overloaded(
                f"queued requests hold {used} bytes; this one's {nbytes} more would "
                f"pass MODELYARD_MAX_QUEUED_BYTES ({memory.limit})",
                limit="queue_bytes",
            )
        memory.used = used + nbytes
        loop = asyncio.get_running_loop()
        cap = min(rows, self._slice_rows())
        job = _Job(columns, loop.create_future(), nbytes, cap)
        job.due = job.queued_at + deadline
        self._queue.append(job)
        self._queued_rows += rows
        self._ahead_rows += cap
        self._ensure_running()
        assert self._wakeup is not None
        self._wakeup.set()
        # A shared timer settles the job's future, not wait_for (which wraps every wait in
        # callbacks and a cancellation; measured ~3% of a one-row request's loop time).
        self._expiry.add(loop, job.future, deadline)
        try:
            return await job.future
        except _Expired:
            self._forget(job)
            ref = self.runner.predictor.ref
            raise TimedOut(f"no prediction within {deadline * 1000:g} ms ({ref})") from None

    def _refuse(self, ahead: int, rows: int, deadline: float) -> None:
        per_row = self.cost.seconds_per_row
        refusal = judge(ahead, rows, per_row, deadline)
        assert refusal is not None
        source = (
            "the endpoint's timeout_ms"
            if deadline == self._timeout
            else "the deadline it asked for"
        )
        raise Overloaded(
            refusal.message(ahead, per_row, source),
            retry_after=refusal.retry_after,
            limit="deadline",
        )

    def _forget(self, job: _Job) -> None:
        """A job given up on while still queued leaves the queue (and its counts)."""
        try:
            self._queue.remove(job)
        except ValueError:
            return  # already taken into a batch, whole or its last slice
        left = job.columns.rows - job.taken
        self._queued_rows -= left
        self._ahead_rows -= min(left, job.cap)
        self.memory.used -= job.nbytes

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
            limits = self.limits
            room = min(limits.max_batch, self._slice_rows())
            batch, rows = self._take(room)
            try:
                if (
                    rows < room
                    and limits.max_wait_ms > 0
                    and (self.crowded is None or self.crowded())
                ):
                    self._running_rows = rows  # counted ahead of newcomers meanwhile
                    rows = await self._gather(batch, rows, room)
                kept = [job for job in batch if not job.future.done()]  # timed out meanwhile
                if not kept:
                    continue
                if len(kept) != len(batch):
                    batch = kept
                    rows = sum(_rows_of(job) for job in batch)
                self._running_rows = rows
                call = await self._compute(loop, batch)
            except Exception as exc:  # delivered to every caller of this batch; the loop goes on
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            finally:
                self._running_rows = 0
            self._deliver(batch, call)
            # Let the answers go out and newly arrived requests in before the next batch
            # (after a short wait the loop has not run since the batch was taken).
            await asyncio.sleep(0)

    async def _gather(self, batch: list[_Job], rows: int, room: int) -> int:
        """Add to ``batch`` (of ``rows`` rows) the requests that keep arriving, up to
        ``room`` rows in all, and return its rows: yield to the loop until ``QUIET_STEPS``
        steps in a row queued nothing that fits (a request read in one loop step joins the
        queue in the next, when its handler runs), for at most ``max_wait_ms`` after the
        batch could first have run (when its first request queued or, if later, when the
        model came free: a request queued behind a running call waited for the model, not
        for company), and never past the time its most pressed request needs the call to
        start to be answered in time, at this version's cost per row.

        Under a steady load, the callers one call answers send their next requests while the
        loop is still answering and reading; a single yield left those for the call after,
        so at c=64 calls alternated between two halves of ~32 rows and paid a call's fixed
        cost twice (docs/decisions.md)."""
        window = max(batch[0].queued_at, self._free_at) + self.limits.max_wait_ms / 1000
        due = min(job.due for job in batch)
        quiet = 0  # loop steps in a row that queued nothing that fits
        while quiet < QUIET_STEPS and rows < room:
            await asyncio.sleep(0)
            more, extra = self._take(room - rows, whole=True)
            if more:
                batch.extend(more)
                rows += extra
                self._running_rows = rows
                due = min(due, *(job.due for job in more))
                quiet = 0
            else:
                quiet += 1
            if time.perf_counter() >= min(window, due - self.cost.seconds_for(rows)):
                break
        return rows

    async def _compute(self, loop: asyncio.AbstractEventLoop, batch: list[_Job]) -> ModelCall:
        columns = Columns.concat(
            [job.columns if job.piece is None else job.columns.slice(*job.piece) for job in batch]
        )
        started = time.perf_counter()
        seconds = 0.0
        global _calls_running
        try:
            call = self.runner.submit(columns, self._stuck_after)
            _calls_running += 1
            try:
                output = self._short_wait(call) if _calls_running == 1 else None
                if output is None:
                    output = await asyncio.wrap_future(call, loop=loop)
            finally:
                _calls_running -= 1
            seconds = time.perf_counter() - started
            self.cost.observe(columns.rows, output.seconds or seconds)
            return ModelCall(columns, output)
        finally:
            self._free_at = time.perf_counter()
            if self.on_batch is not None:
                try:
                    self.on_batch(columns.rows, seconds or time.perf_counter() - started)
                except Exception:  # an observer never breaks serving
                    log.exception("batch observer failed")

    def _short_wait(self, call: Future[Output]) -> Output | None:
        """The call's answer if it comes within ``SHORT_CALL_SECONDS``, waited for on the
        event loop's thread; ``None`` otherwise (then the caller awaits it).

        While the loop waits, its thread holds no GIL, so the model's thread runs without
        handing the GIL back and forth: a scikit-learn call releases and retakes it per
        tree (a HistGradientBoosting of 100 trees: 100 times), and each time the loop
        held it the model's thread slept and was woken by the kernel (docs/decisions.md).
        Requests arriving meanwhile wait in the socket and join the next batch; the
        batcher yields to the loop after each batch, so the loop is held for one call at a
        time, and only when no other model call of the process is running (a shadow's,
        another version's).

        A wait that runs out (a slow or stuck call, awaited from then on as before) makes
        the next ones rarer: after ``n`` in a row, ``2**n - 1`` batches are awaited
        without trying (at most ``MAX_SKIPPED``), so a version whose calls are long costs
        the loop one bounded wait now and then. Call times are no guide here: measured on
        a model thread that fights the loop for the GIL they are several times the call's
        own, which kept short calls from ever being tried again.

        Not with grpcio's asyncio gRPC server in the process (``short_waits=False``): a
        gRPC call reaches the batcher only after several loop steps (grpc.aio's completion
        queue is polled by a thread of its own), so a loop held for each batch left the
        next one a call or two: 2-3x fewer one-row calls/s at c=64, measured. Beside
        pygrpc-native's front (the default) they stay on: the same calls/s at c=64, and
        410-418 against 265-358 one-row gRPC calls/s at c=1."""
        if not self._short_waits:
            return None
        if self._skip:
            self._skip -= 1
            return None
        try:
            output = call.result(timeout=SHORT_CALL_SECONDS)
        except TimeoutError:
            self._misses += 1
            self._skip = min(2**self._misses - 1, MAX_SKIPPED)
            return None
        self._misses = 0
        return output

    def _take(self, room: int, whole: bool = False) -> tuple[list[_Job], int]:
        """Jobs from the head of the queue, up to ``room`` rows, and their rows. A first
        job bigger than the room runs alone; one bigger than a slice gives a slice and goes
        to the back of the queue, so the requests behind it are served before its next
        slice. ``whole``: only jobs that fit entirely (adding to a batch already taken)."""
        taken: list[_Job] = []
        rows = 0
        queue = self._queue
        while queue:
            job = queue[0]
            start = job.taken
            left = job.columns.rows - start
            if rows + left > room:
                if taken or whole:
                    break
                size = job.cap
                if left > size:
                    queue.rotate(-1)
                    job.taken = start + size
                    job.piece = (start, start + size)
                    self._queued_rows -= size
                    self._ahead_rows += min(left - size, size) - size
                    return [job], size
            queue.popleft()
            self._queued_rows -= left
            self._ahead_rows -= min(left, job.cap)
            self.memory.used -= job.nbytes
            if start:  # the last slice of a large job
                job.taken = start + left
                job.piece = (start, start + left)
            taken.append(job)
            rows += left
        return taken, rows

    def _slice_rows(self) -> int:
        """Rows of about ``SLICE_SECONDS`` of model time, at least ``MIN_SLICE_ROWS`` (or
        ``max_batch`` if smaller): what one call runs at most, merged or sliced."""
        floor = min(MIN_SLICE_ROWS, self.limits.max_batch)
        per_row = self.cost.seconds_per_row
        rows = int(SLICE_SECONDS / per_row) if per_row > 0 else floor
        return max(floor, rows)

    @staticmethod
    def _deliver(batch: list[_Job], call: ModelCall) -> None:
        """Each job its rows' answers; a whole job's share names the call it came from
        (a sliced job's joined answer, from several calls, names none)."""
        output = call.output
        predictions = output.predictions
        probabilities = output.probabilities
        at = 0
        for job in batch:
            piece = job.piece
            end = at + (job.columns.rows if piece is None else piece[1] - piece[0])
            part = Output(
                predictions[at:end],
                None if probabilities is None else probabilities[at:end],
                finite=output.finite,
                call=call if piece is None else None,
                first=at if piece is None else 0,
            )
            at = end
            future = job.future
            if future.done():
                continue
            if piece is None:
                future.set_result(part)
                continue
            parts = job.parts = [*(job.parts or ()), part]
            if piece[1] == job.columns.rows:
                future.set_result(_joined(parts))

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        self._closed = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            await self._task


class _Expired(Exception):
    """A queued job's deadline passed before its answer came."""


def _rows_of(job: _Job) -> int:
    """The rows ``job`` has in the batch being run."""
    piece = job.piece
    return job.columns.rows if piece is None else piece[1] - piece[0]


def _joined(parts: list[Output]) -> Output:
    """A sliced job's answer: its slices' answers in order."""
    probabilities = [p.probabilities for p in parts]
    return Output(
        np.concatenate([p.predictions for p in parts]),
        None
        if any(p is None for p in probabilities)
        else np.concatenate([p for p in probabilities if p is not None]),
        finite=all(p.finite for p in parts),
    )
