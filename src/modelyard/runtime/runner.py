"""Running one model: a dedicated thread with its native thread pools sized explicitly.

OpenMP/BLAS pools inherited from the environment oversubscribe a small machine when several
threads call the model (PERF_NOTES.md: 1.7–1.95x lost, and stalls). Each model gets one
executor thread, and every call runs under ``threadpool_limits`` with an explicit size.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from modelyard.errors import ModelFailed, first_line
from modelyard.flavors.base import Table
from modelyard.runtime.inputs import Columns
from modelyard.runtime.predictor import Predictor

_thread_state = threading.local()


@dataclass(frozen=True)
class Output:
    predictions: np.ndarray
    probabilities: np.ndarray | None


class ModelRunner:
    def __init__(self, predictor: Predictor, native_threads: int = 1) -> None:
        self.predictor = predictor
        self.native_threads = native_threads
        self.executor = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix=f"model-{predictor.ref}",
            initializer=_limit_native_threads,
            initargs=(native_threads,),
        )

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
        self.executor.shutdown(wait=True, cancel_futures=False)


def _limit_native_threads(threads: int) -> None:
    """Runs once in the model thread: OpenMP pools are sized per calling thread, BLAS globally.

    Limiting per call (``with threadpool_limits(...)``) re-scans the loaded libraries each
    time, which costs milliseconds; once per thread costs nothing on the hot path.
    """
    from threadpoolctl import threadpool_limits

    # The limiter restores the old sizes when it is garbage collected: keep it alive as
    # long as the thread.
    _thread_state.limiter = threadpool_limits(limits=threads)
