"""The Dask client the engines share: a refused worker count, and an unreachable scheduler
named in one line (the CLI's exit 7)."""

from __future__ import annotations

import pytest

from modelyard.dask_cluster import dask_client
from modelyard.errors import InvalidInput, StoreUnavailable

pytest.importorskip("distributed")


def test_bad_workers_and_an_unreachable_scheduler() -> None:
    with pytest.raises(InvalidInput, match="workers must be at least 1"), dask_client(None, 0, 1):
        pass
    with (
        pytest.raises(
            StoreUnavailable,
            match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:1 within 1 s",
        ),
        dask_client("tcp://127.0.0.1:1", 1, 1.0),
    ):
        pass
