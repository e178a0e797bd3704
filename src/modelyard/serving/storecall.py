"""Store calls made by request handlers: off the event loop, and never waited on forever.

Each route's blocking work goes through one of the app's :class:`DeadlineCalls`, so a
database that hangs costs a caller a 503 after a deadline instead of a request that never
ends. Reads get the store timeout on the ``store_calls`` threads; summaries and actions
(which may run a promotion gate) do real work besides the database, so they run on
``long_calls``, a few threads of their own with a longer, still bounded, deadline: a read
key asking for many week-long summaries cannot starve feedback and admin reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request

from modelyard.errors import StoreUnavailable, TimedOut
from modelyard.runtime.threads import DeadlineCalls
from modelyard.serving.dataplane import plane_of

T = TypeVar("T")
SUMMARY_SECONDS = 60.0  # a week of monitor windows on a busy machine
ACTION_SECONDS = 300.0  # a promotion gate runs the model on its holdout and times it


async def from_store(
    request: Request,
    fn: Callable[..., T],
    *args: Any,
    timeout: float | None = None,
    changes: bool = False,
) -> T:
    """``fn(*args)`` on the right threads. ``changes``: it changes the yard, so a deadline
    that passes says so (504; it may still finish) rather than inviting a blind retry."""
    admin = plane_of(request).admin
    calls: DeadlineCalls = admin.store_calls
    if timeout is not None and timeout > calls.timeout:
        calls = admin.long_calls
    try:
        return await calls.call(fn, *args, timeout=timeout)
    except StoreUnavailable:
        if not changes:
            raise
        raise TimedOut(
            "the action did not finish in time and may still complete; check the audit log "
            "(GET /api/audit) before trying again"
        ) from None
