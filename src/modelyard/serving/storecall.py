"""Store calls made by request handlers: off the event loop, and never waited on forever.

Each route's blocking work goes through the app's :class:`StoreCalls`, so a database that
hangs costs a caller a 503 after a deadline instead of a request that never ends.
Reads get the store timeout; summaries and actions (which may run a promotion gate) do
real work besides the database and get longer, still bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request

from modelyard.runtime.threads import StoreCalls

T = TypeVar("T")
SUMMARY_SECONDS = 60.0  # a week of monitor windows on a busy machine
ACTION_SECONDS = 300.0  # a promotion gate runs the model on its holdout and times it


async def from_store(
    request: Request, fn: Callable[..., T], *args: Any, timeout: float | None = None
) -> T:
    calls: StoreCalls = request.app.state.store_calls
    return await calls.call(fn, *args, timeout=timeout)
