"""The drift gate on a Dask cluster: each part of a table (a file, or a run of a Parquet
file's row groups) is read and binned by a task on a worker, and the client merges the
parts' results in order — the same merge the local engine does, so the report is the same.

Tasks receive the table's description (file names, schema, the fsspec filesystem to read
them with), never its rows: workers read the files themselves, so local paths must be
visible to them (a LocalCluster here, or a shared filesystem) and ``s3://`` needs the
credentials in the workers' environment. A few tasks per worker thread are in flight at a
time, which bounds what the client and the workers hold while the results arrive.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from modelyard.dask_cluster import dask_client
from modelyard.monitoring.passes import Result
from modelyard.monitoring.tables import Part

IN_FLIGHT_PER_THREAD = 2


class DaskEngine:
    """Runs the drift passes' tasks on the cluster behind ``client``."""

    threads = 1  # a task bins its columns on one thread: the cluster's tasks are the parallelism

    def __init__(self, client: Any) -> None:
        self.client = client

    def run(
        self,
        task: Callable[[Part, Any], Result],
        parts: list[Part],
        hint: Callable[[], Any],
    ) -> Iterator[Result]:
        """Results in the parts' order; a task is submitted with ``hint()`` as it is when
        an earlier result has been merged."""
        run = uuid.uuid4().hex[:12]
        window = max(1, IN_FLIGHT_PER_THREAD * sum(self.client.nthreads().values()))
        waiting = deque(enumerate(parts))
        running: deque[Any] = deque()

        def submit() -> None:
            index, part = waiting.popleft()
            key = f"modelyard-drift-{run}-{index}"
            running.append(self.client.submit(task, part, hint(), key=key, pure=False))

        try:
            while waiting and len(running) < window:
                submit()
            while running:
                future = running.popleft()
                result: Result = future.result()
                future.release()
                yield result
                if waiting:
                    submit()
        finally:
            if running:
                self.client.cancel(list(running))


@contextmanager
def dask_engine(
    scheduler: str | None = None, workers: int = 2, connect_seconds: float = 10.0
) -> Iterator[DaskEngine]:
    """An engine on the scheduler at ``scheduler``, or on a LocalCluster of ``workers``
    processes started here for the command's duration."""
    with dask_client(scheduler, workers, connect_seconds) as client:
        yield DaskEngine(client)
