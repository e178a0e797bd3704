"""A Dask client for the engines that run on a cluster (batch scoring, the drift gate): the
scheduler at an address, or a LocalCluster of single-threaded worker processes here.

Dask is imported only when an engine asks (``pip install 'modelyard[dask]'``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from modelyard.errors import InvalidInput, StoreUnavailable, first_line

INSTALL = "the dask engine needs Dask: pip install 'modelyard[dask]'"


def require_dask() -> Any:
    """The ``distributed`` module, or a one-line refusal naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise InvalidInput(INSTALL) from None
    return distributed


@contextmanager
def dask_client(scheduler: str | None, workers: int, connect_seconds: float) -> Iterator[Any]:
    """A ``distributed.Client`` of the scheduler at ``scheduler``, or of a LocalCluster of
    ``workers`` processes started (and stopped) here."""
    if workers < 1:
        raise InvalidInput(f"workers must be at least 1, got {workers}")
    distributed = require_dask()
    cluster = None
    if scheduler is None:
        # Every task's error reaches the client, which raises it; the workers' own logging
        # of it (a traceback per failed task on this terminal) would bury the one line.
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # the scheduler's HTTP routes start anyway: on a free port, not 8787, which
            # another cluster on this machine may hold (distributed then warns and moves)
            scheduler_kwargs={"dashboard_address": ":0"},
            silence_logs=logging.CRITICAL,
        )
        client = distributed.Client(cluster)
    else:
        try:
            client = distributed.Client(scheduler, timeout=connect_seconds)
        except (OSError, TimeoutError, ValueError) as exc:
            raise StoreUnavailable(
                f"cannot reach the Dask scheduler at {scheduler} within {connect_seconds:g} s: "
                f"{first_line(exc)}"
            ) from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
