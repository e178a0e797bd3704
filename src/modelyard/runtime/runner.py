"""Running one model: a dedicated thread with its native thread pools sized explicitly.

OpenMP/BLAS pools inherited from the environment oversubscribe a small machine when several
threads call the model (PERF_NOTES.md: 1.7–1.95x lost, and stalls). Each model gets one
executor thread, and every call runs under ``threadpool_limits`` with an explicit size.

A call that never returns (a model waiting on a lock, a network, an endless loop) would
hold that one thread for good and time out every request after it. A watchdog thread
looks at every runner a few times a second: a call running longer than its ``stuck_after``
(twice the timeout of the endpoint that made it) is given up on — its
callers get :class:`TimedOut`, its thread is abandoned (a daemon, so it holds up no exit),
and the calls queued behind it move to a fresh thread. Past ``MAX_STUCK`` abandoned calls
still running the version is not ready (the endpoint table then loads a fresh copy).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelyard.errors import ModelFailed, TimedOut, first_line
from modelyard.flavors.base import Table
from modelyard.runtime.admission import RowCost
from modelyard.runtime.inputs import Columns
from modelyard.runtime.predictor import Predictor
from modelyard.runtime.threads import DaemonExecutor

log = logging.getLogger(__name__)
_thread_state = threading.local()
MAX_STUCK = 4  # abandoned calls still running before a version stops taking requests


@dataclass(slots=True)  # not frozen: see runtime/events.py's PredictionEvent
class Output:
    predictions: np.ndarray
    probabilities: np.ndarray | None
    # Seconds the model thread spent on the batch (0 for a caller's share of one): what
    # a row costs, free of how late the event loop saw the answer.
    seconds: float = 0.0
    # Every value is known to be a finite number (checked once per batch, on the model's
    # thread); False: not known, the caller checks its own rows.
    finite: bool = False
    # A caller's share of a batch: the model call it came from and where its rows start
    # there, so monitoring can keep the call's arrays instead of a copy per request.
    call: ModelCall | None = field(default=None, repr=False, compare=False)
    first: int = 0

    def rows(self, start: int, stop: int) -> Output:
        """The answers to rows ``start`` to ``stop`` alone (views)."""
        probabilities = self.probabilities
        return Output(
            self.predictions[start:stop],
            None if probabilities is None else probabilities[start:stop],
            finite=self.finite,
        )


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One model call: the rows it ran and its answers, shared by the requests it served."""

    columns: Columns
    output: Output


class ModelRunner:
    def __init__(self, predictor: Predictor, native_threads: int = 1) -> None:
        self.predictor = predictor
        self.native_threads = native_threads
        # Looked up once per loaded version, not per batch.
        self._accepts_matrix = predictor.adapter.accepts_matrix
        self._predict = _predict_function(predictor)
        self.cost = RowCost()  # what a row costs this version (admission, slicing)
        self.executor = self._new_thread()
        self._deadlines: dict[Future[Output], float] = {}  # call → seconds it may run
        self.abandoned = 0  # calls given up on since load
        self._left_behind: list[DaemonExecutor] = []  # threads holding calls given up on
        self._lock = threading.Lock()
        _WATCHDOG.watch(self)

    def _new_thread(self) -> DaemonExecutor:
        return DaemonExecutor(
            1,
            f"model-{self.predictor.ref}",
            initializer=_limit_native_threads,
            initargs=(self.native_threads,),
        )

    def submit(self, columns: Columns, stuck_after: float | None = None) -> Future[Output]:
        """Run a batch on this model's thread; ``stuck_after``: give it up (see the module)
        once it has run that many seconds (each caller has its own: endpoints sharing a
        version may have different timeouts)."""
        call = self.executor.submit(self.run, columns)
        if stuck_after is not None:
            with self._lock:
                self._deadlines[call] = stuck_after
            call.add_done_callback(self._forget)
        return call

    def _forget(self, call: Future[Output]) -> None:
        with self._lock:
            self._deadlines.pop(call, None)

    def check(self, now: float) -> None:
        """The watchdog's look: abandon the running call if it has run too long."""
        if not self._deadlines:
            return
        for call, started in self.executor.running():
            limit = self._deadlines.get(call)
            if limit is not None and now - started > limit:
                self.abandon(call, now - started)

    def abandon(self, call: Future[Any], seconds: float) -> None:
        """Give up on ``call``, running on the current thread: its callers are told, its
        thread is left to it, and the calls queued behind it go to a fresh thread."""
        with self._lock:
            if call.done() or not any(c is call for c, _ in self.executor.running()):
                return
            stuck, self.executor = self.executor, self._new_thread()
            self._left_behind.append(stuck)  # (returned ones are dropped by ``stuck``)
            self.abandoned += 1
        stuck.hand_over(self.executor)
        call.set_exception(
            TimedOut(f"{self.predictor.ref}: the model call did not return in {seconds:.1f} s")
        )
        log.error(
            "%s: a model call did not return in %.1f s; its thread is abandoned and a fresh "
            "one serves (%d abandoned since load, %d still running)",
            self.predictor.ref,
            seconds,
            self.abandoned,
            self.stuck,
        )

    @property
    def stuck(self) -> int:
        """Calls given up on that have not returned yet."""
        with self._lock:  # (threads whose call returned are dropped)
            self._left_behind = [e for e in self._left_behind if e.running()]
            return len(self._left_behind)

    @property
    def ready(self) -> bool:
        # Asked on every request: no walk over the threads when none was ever abandoned.
        return not self._left_behind or self.stuck < MAX_STUCK

    def run(self, columns: Columns) -> Output:
        """Predict a batch; call it in this model's executor thread, where the limits hold."""
        started = time.perf_counter()
        rows: Table | None = columns.matrix() if self._accepts_matrix else None
        if rows is None:
            rows = columns.frame()
        try:
            predictions, probabilities = self._predict(rows)
        except Exception as exc:  # whatever the model raises is the model's failure
            raise ModelFailed(f"{self.predictor.ref} failed: {first_line(exc)}") from exc
        if len(predictions) != columns.rows:
            raise ModelFailed(
                f"{self.predictor.ref} returned {len(predictions)} predictions for "
                f"{columns.rows} rows"
            )
        finite = _finite(predictions) and (probabilities is None or _finite(probabilities))
        return Output(predictions, probabilities, time.perf_counter() - started, finite)

    def close(self, wait: bool = True) -> None:
        """Let the thread finish what it has (``wait``: and join it); a stuck call is never
        waited for."""
        _WATCHDOG.forget(self)
        busy = bool(self.executor.running())
        self.executor.shutdown(wait=wait and not busy, cancel_futures=False)


def _finite(values: np.ndarray) -> bool:
    """No NaN or Inf (text, integer and boolean outputs have none)."""
    return values.dtype.kind != "f" or bool(np.isfinite(values).all())


def _predict_function(
    predictor: Predictor,
) -> Callable[[Table], tuple[np.ndarray, np.ndarray | None]]:
    """Predictions and, for a model with probabilities, those too: in one call when the
    flavor offers it."""
    adapter = predictor.adapter
    both = getattr(adapter, "predict_with_proba", None)
    if predictor.has_proba and both is not None:
        return both  # type: ignore[no-any-return]

    def predict(rows: Table) -> tuple[np.ndarray, np.ndarray | None]:
        predictions = np.asarray(adapter.predict(rows))
        if not predictor.has_proba:
            return predictions, None
        return predictions, np.asarray(adapter.predict_proba(rows))

    return predict


class _Watchdog:
    """One daemon thread checking every runner for calls that have run too long."""

    PERIOD = 0.1

    def __init__(self) -> None:
        self._runners: weakref.WeakSet[ModelRunner] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, runner: ModelRunner) -> None:
        with self._lock:
            self._runners.add(runner)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="model-watchdog", daemon=True
                )
                self._thread.start()

    def forget(self, runner: ModelRunner) -> None:
        with self._lock:
            self._runners.discard(runner)

    def _run(self) -> None:
        while True:
            time.sleep(self.PERIOD)
            with self._lock:
                runners = list(self._runners)
            now = time.monotonic()
            for runner in runners:
                try:
                    runner.check(now)
                except Exception:  # one runner's trouble must not blind the others
                    log.exception("checking %s for stuck calls failed", runner.predictor.ref)


_WATCHDOG = _Watchdog()


def _limit_native_threads(threads: int) -> None:
    """Runs once in the model thread: OpenMP pools are sized per calling thread, BLAS globally.

    Limiting per call (``with threadpool_limits(...)``) re-scans the loaded libraries each
    time, which costs milliseconds; once per thread costs nothing on the hot path.
    """
    from threadpoolctl import threadpool_limits

    # The limiter restores the old sizes when it is garbage collected: keep it alive as
    # long as the thread.
    _thread_state.limiter = threadpool_limits(limits=threads)
