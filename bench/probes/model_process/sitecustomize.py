"""A probe, not product code: a one-worker server whose model calls run in a child process.

``bench/thread_cpu.py --model-process`` puts this folder (and bench/probes, for
``probe_hook``) on the server's ``PYTHONPATH`` with ``PROBE_MODEL_PROCESS=1``; Python
imports this module at start-up, and it patches ``ModelRunner`` when the serving app is
first imported. Each runner then starts a child (spawn) holding a copy of the version's
adapter: a batch's matrix goes to it through a pipe and the answer comes back to a receiver
thread that completes the call's future. The batcher's short waits are off (the event loop
never waits for the model); with ``PROBE_NO_GATHER=1`` a call also takes only what is
queued when the model comes free (no gathering of the callers coming back), so two groups
of callers can take turns, one computing while the loop serves the other. What it
answers: how much of the event loop's cost a one-row request pays for sharing its
interpreter, and its GIL, with the model's calls. Nothing else
is supported (one protocol, no watchdog, no slices beyond the batcher's, no reload).
"""

from __future__ import annotations

import os
import pickle
import time
from typing import Any

CHILD = "PROBE_MODEL_CHILD"


def serve_calls(conn: Any, adapter_blob: bytes) -> None:
    """The child: answer each matrix it receives until the pipe closes."""
    from threadpoolctl import threadpool_limits

    adapter = pickle.loads(adapter_blob)  # our own adapter, pickled by the parent
    with threadpool_limits(limits=1):
        while True:
            try:
                matrix = conn.recv()
            except EOFError:
                return
            started = time.perf_counter()
            predictions, probabilities = adapter.predict_with_proba(matrix)
            conn.send((predictions, probabilities, time.perf_counter() - started))


def _install() -> None:
    import multiprocessing
    import threading
    from collections import deque
    from concurrent.futures import Future

    import numpy as np

    from modelyard.runtime import batcher, runner

    batcher.MicroBatcher._short_wait = lambda self, call: None  # type: ignore[method-assign]
    if os.environ.get("PROBE_NO_GATHER") == "1":  # a call takes what is queued, no more

        async def no_gather(self: Any, batch: Any, rows: int, room: int) -> int:
            return rows

        batcher.MicroBatcher._gather = no_gather  # type: ignore[method-assign]
    original_init = runner.ModelRunner.__init__

    def init(self: Any, predictor: Any, native_threads: int = 1) -> None:
        original_init(self, predictor, native_threads)
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        os.environ[CHILD] = "1"  # the child imports this module too: it must not patch
        try:
            blob = pickle.dumps(predictor.adapter)
            context.Process(target=serve_calls, args=(child, blob), daemon=True).start()
        finally:
            os.environ.pop(CHILD)
        pending: deque[Future[Any]] = deque()
        lock = threading.Lock()

        def receive() -> None:
            while True:
                try:
                    predictions, probabilities, seconds = parent.recv()
                except EOFError:
                    return
                finite = bool(np.isfinite(probabilities).all())
                pending.popleft().set_result(
                    runner.Output(predictions, probabilities, seconds, finite)
                )

        def submit(columns: Any, stuck_after: float | None = None) -> Future[Any]:
            call: Future[Any] = Future()
            call.set_running_or_notify_cancel()
            with lock:  # calls answer in the order they were sent
                pending.append(call)
                parent.send(columns.matrix())
            return call

        threading.Thread(target=receive, daemon=True, name="probe-receiver").start()
        self.submit = submit

    runner.ModelRunner.__init__ = init  # type: ignore[method-assign]


if os.environ.get("PROBE_MODEL_PROCESS") == "1" and not os.environ.get(CHILD):
    from probe_hook import on_serving_import

    on_serving_import(_install)
