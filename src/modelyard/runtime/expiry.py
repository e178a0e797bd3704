"""One event-loop timer for the many waits that share a batcher's timeout.

Each request used to arm a timer of its own (``loop.call_at``) and cancel it when its
answer came; on uvloop that is several µs of the loop's CPU a request (in process,
one-row requests cost 0.92x the CPU without it: docs/decisions.md). Waits that share one
timeout end in the order they began, so they can wait in a queue instead: one timer,
armed for the oldest wait's end, settles what has ended and re-arms for the next.
Answered waits are dropped as newer ones arrive, so the timer fires about once per
timeout under steady load, not per request, and stops when the last wait has ended or
been answered.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

# A wait is taken as ended this close before its end: the loop's timers (uvloop's are
# whole milliseconds) may fire that early, and a timer re-armed for a moment already
# reached would fire again at once.
EARLY_SECONDS = 0.001
# The queue is rebuilt without its answered waits when it holds more than this many and
# twice what it kept at its last rebuild: a wait answered late (a long request at the
# head) keeps answered ones behind it, each holding its answer until dropped. Rebuilding
# only on doubling keeps the cost per wait constant.
COMPACT_AT = 256


class ExpiryQueue:
    """Futures settled with ``expired()`` once ``seconds`` have passed since each was
    added, unless they are done by then. Added in order of their ends, so every future
    must share ``seconds``."""

    def __init__(self, seconds: float, expired: type[BaseException]) -> None:
        self.seconds = seconds
        self._expired = expired
        self._waits: deque[tuple[float, asyncio.Future[Any]]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._compact_at = COMPACT_AT

    def __len__(self) -> int:
        return len(self._waits)

    def add(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None:
        waits = self._waits
        while waits and waits[0][1].done():
            waits.popleft()
        if len(waits) > self._compact_at:
            waits = self._waits = deque(wait for wait in waits if not wait[1].done())
            self._compact_at = max(COMPACT_AT, 2 * len(waits))
        end = loop.time() + self.seconds
        waits.append((end, future))
        if self._timer is None:
            self._timer = loop.call_at(end, self._settle, loop)

    def _settle(self, loop: asyncio.AbstractEventLoop) -> None:
        """Expire the waits that have ended; re-arm for the oldest one left."""
        waits = self._waits
        ended = loop.time() + EARLY_SECONDS
        while waits:
            end, future = waits[0]
            if not future.done():
                if end > ended:
                    break
                future.set_exception(self._expired())
            waits.popleft()
        self._timer = loop.call_at(waits[0][0], self._settle, loop) if waits else None
