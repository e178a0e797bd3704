"""Which API keys are valid, answered without a database round trip per request.

A key that was checked is trusted for ``check_seconds``; after that it is checked again in
the background while requests go on, so a revocation takes effect within about
``check_seconds`` while the database answers. When it does not answer, keys checked
before the outage keep working for ``stale_seconds`` (revoking needs the database too, so
nothing can be revoked meanwhile; a replica cut off from a database others still reach is
the one case where a revoked key works longer, at most that long). Secrets that match no
key are remembered for ``unknown_seconds``, in their own bounded table so a flood of
made-up keys cannot push out the real ones, and while the database is known to be down,
unknown secrets are refused at once instead of each waiting for a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from modelyard.domain.keys import ApiKey
from modelyard.errors import StoreUnavailable, first_line
from modelyard.runtime.threads import DeadlineCalls
from modelyard.store.keys import secret_digest

log = logging.getLogger(__name__)
MAX_KNOWN = 4096
MAX_UNKNOWN = 4096
DOWN_BACKOFF_SECONDS = 1.0  # after a failed check, unknown secrets are refused this long


class KeyLookup(Protocol):
    def authenticate(self, secret: str) -> ApiKey | None: ...


@dataclass
class _Checked:
    key: ApiKey
    checked_at: float


class KeyCache:
    def __init__(
        self,
        keys: KeyLookup,
        calls: DeadlineCalls,
        *,
        check_seconds: float = 5.0,
        stale_seconds: float = 3600.0,
        unknown_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        store_down: Callable[[], bool] = lambda: False,
    ) -> None:
        self.keys = keys
        self._store_down = store_down  # what the server's own polls of the store say
        self.calls = calls
        self.check_seconds = check_seconds
        self.stale_seconds = stale_seconds
        self.unknown_seconds = unknown_seconds
        self._clock = clock
        self._known: OrderedDict[str, _Checked] = OrderedDict()
        self._unknown: OrderedDict[str, float] = OrderedDict()  # digest → refused until
        self._checking: dict[str, asyncio.Task[ApiKey | None]] = {}
        self._down_until = 0.0

    async def get(self, secret: str, digest: str | None = None) -> ApiKey | None:
        """The key ``secret`` belongs to (revoked ones included), or None; ``digest`` is
        its :func:`secret_digest`, when the caller has it already.

        Raises :class:`StoreUnavailable` only for a secret never checked (or checked too
        long ago) while the database cannot answer."""
        digest = digest or secret_digest(secret)
        now = self._clock()
        checked = self._known.get(digest)
        if checked is not None:
            self._known.move_to_end(digest)
            age = now - checked.checked_at
            if age < self.check_seconds:
                return checked.key
            task = self._check(secret, digest)
            if age < self.check_seconds + self.stale_seconds:
                return checked.key  # the check goes on in the background
            return await task
        refused_until = self._unknown.get(digest)
        if refused_until is not None and refused_until > now:
            return None
        if now < self._down_until or self._store_down():
            raise StoreUnavailable("API keys cannot be checked now: the store does not answer")
        return await self._check(secret, digest)

    def _check(self, secret: str, digest: str) -> asyncio.Task[ApiKey | None]:
        """One look-up per secret at a time, however many requests present it."""
        task = self._checking.get(digest)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._look_up(secret, digest))
            self._checking[digest] = task
            task.add_done_callback(lambda done: self._settle(digest, done))
        return task

    async def _look_up(self, secret: str, digest: str) -> ApiKey | None:
        try:
            key = await self.calls.call(self.keys.authenticate, secret)
        except Exception as exc:
            self._down_until = self._clock() + DOWN_BACKOFF_SECONDS
            raise StoreUnavailable(f"API keys cannot be checked now: {first_line(exc)}") from exc
        now = self._clock()
        if key is None:
            self._known.pop(digest, None)
            self._unknown[digest] = now + self.unknown_seconds
            self._unknown.move_to_end(digest)
            while len(self._unknown) > MAX_UNKNOWN:
                self._unknown.popitem(last=False)
        else:
            self._unknown.pop(digest, None)
            self._known[digest] = _Checked(key, now)
            self._known.move_to_end(digest)
            while len(self._known) > MAX_KNOWN:
                self._known.popitem(last=False)
        return key

    def _settle(self, digest: str, task: asyncio.Task[ApiKey | None]) -> None:
        self._checking.pop(digest, None)
        if not task.cancelled() and task.exception() is not None:
            # Nobody may be waiting (a background re-check): say it here, once per failure.
            log.debug("checking an API key failed: %s", task.exception())
