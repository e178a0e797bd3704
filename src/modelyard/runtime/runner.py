"""Running one model: a dedicated thread with its native thread pools sized explicitly.

OpenMP/BLAS pools inherited from the environment oversubscribe a small machine when several
threads call the model (PERF_NOTES.md: 1.7–1.95x lost, and stalls). Each model gets one
executor thread, and every call runs under ``threadpool_limits`` with an explicit size.

A call that never returns (a model waiting on a lock, a network, an endless loop) would
hold that one thread for good and time out every request after it. The batcher gives such
a call up: the thread is abandoned (a daemon, so it holds up no exit), a fresh one takes
the next batches, and the runner counts what it abandoned. Past ``MAX_STUCK`` calls still
running, the version is not ready until one of them returns.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from modelyard.errors import ModelFailed, first_line
from modelyard.flavors.base import Table
from modelyard.runtime.inputs import Columns
from modelyard.runtime.predictor import Predictor
from modelyard.runtime.threads import DaemonExecutor

log = logging.getLogger(__name__)
_thread_state = threading.local()
MAX_STUCK = 4  # abandoned calls still running before a version stops taking requests


@dataclass(frozen=True)
class Output:
    predictions: np.ndarray
    probabilities: np.ndarray | None


class ModelRunner:
    def __init__(self, predictor: Predictor, native_threads: int = 1) -> None:
        self.predictor = predictor
        self.native_threads = native_threads
        self.executor = self._new_thread()
        self.abandoned = 0  # calls given up on since load
        self._stuck: set[Future[Output]] = set()  # given up on and still running
        self._lock = threading.Lock()

    def _new_thread(self) -> DaemonExecutor:
        return DaemonExecutor(
            1,
            f"model-{self.predictor.ref}",
            initializer=_limit_native_threads,
            initargs=(self.native_threads,),
        )

    def submit(self, columns: Columns) -> Future[Output]:
        """Run a batch on this model's thread."""
        return self.executor.submit(self.run, columns)

    def abandon(self, call: Future[Output]) -> None:
        """Give up on ``call``, still running: its thread is left to it, a fresh one takes
        the next batches."""
        with self._lock:
            if call.done() or call in self._stuck:
                return
            stuck, self.executor = self.executor, self._new_thread()
            self._stuck.add(call)
            self.abandoned += 1
        stuck.shutdown(wait=False)  # the thread ends when (if) the call returns
        call.add_done_callback(self._returned)
        log.error(
            "%s: a model call did not return in time; its thread is abandoned and a fresh "
            "one serves (%d abandoned since load, %d still running)",
            self.predictor.ref,
            self.abandoned,
            len(self._stuck),
        )

    def _returned(self, call: Future[Output]) -> None:
        with self._lock:
            self._stuck.discard(call)

    @property
    def stuck(self) -> int:
        """Calls given up on that have not returned yet."""
        return len(self._stuck)

    @property
    def ready(self) -> bool:
        return len(self._stuck) < MAX_STUCK

    def run(self, columns: Columns) -> Output:
        """Predict a batch; call it in this model's executor thread, where the limits hold."""
        adapter = self.predictor.adapter
        rows: Table | None = columns.matrix() if adapter.accepts_matrix else None
        if rows is None:
            rows = columns.frame()
        both = getattr(adapter, "predict_with_proba", None)
        try:
            if self.predictor.has_proba and both is not None:
                predictions, probabilities = both(rows)
            else:
                predictions = np.asarray(adapter.predict(rows))
                probabilities = (
                    np.asarray(adapter.predict_proba(rows)) if self.predictor.has_proba else None
                )
        except Exception as exc:  # whatever the model raises is the model's failure
            raise ModelFailed(f"{self.predictor.ref} failed: {first_line(exc)}") from exc
        if len(predictions) != columns.rows:
            raise ModelFailed(
                f"{self.predictor.ref} returned {len(predictions)} predictions for "
                f"{columns.rows} rows"
            )
        return Output(predictions, probabilities)

    def close(self) -> None:
        """Let the thread finish what it has; a stuck call is not waited for."""
        self.executor.shutdown(wait=not self._stuck, cancel_futures=False)


def _limit_native_threads(threads: int) -> None:
    """Runs once in the model thread: OpenMP pools are sized per calling thread, BLAS globally.

    Limiting per call (``with threadpool_limits(...)``) re-scans the loaded libraries each
    time, which costs milliseconds; once per thread costs nothing on the hot path.
    """
    from threadpoolctl import threadpool_limits

    # The limiter restores the old sizes when it is garbage collected: keep it alive as
    # long as the thread.
    _thread_state.limiter = threadpool_limits(limits=threads)
