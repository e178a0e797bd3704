"""One event-loop timer for the many waits of a batcher's requests.

Each request used to arm a timer of its own (``loop.call_at``) and cancel it when its
answer came; on uvloop that is several µs of the loop's CPU a request (in process,
one-row requests cost 0.92x the CPU without it: docs/decisions.md). The waits now sit in
a heap by their ends behind one timer, armed for the earliest end: it settles what has
ended and re-arms for the next. Answered waits are dropped as newer ones arrive, so
under steady load (most requests wait the endpoint's whole timeout, and end in the order
they began) the timer fires about once per timeout, not per request, and stops when the
last wait has ended or been answered. A shorter deadline a caller asks for moves the
timer earlier, once.
"""

from __future__ import annotations

import asyncio
import heapq
from itertools import count
from typing import Any

# A wait is taken as ended this close before its end: the loop's timers (uvloop's are
# whole milliseconds) may fire that early, and a timer re-armed for a moment already
# reached would fire again at once.
EARLY_SECONDS = 0.001
# The heap is rebuilt without its answered waits when it holds more than this many and
# twice what it kept at its last rebuild: a wait answered late (a long request at the
# head) keeps answered ones behind it, each holding its answer until dropped. Rebuilding
# only on doubling keeps the cost per wait constant.
COMPACT_AT = 256

_Wait = tuple[float, int, asyncio.Future[Any]]  # (end, order added: ties, the future)


class ExpiryQueue:
    """Futures settled with ``expired()`` once their ``seconds`` have passed since each
    was added, unless they are done by then."""

    def __init__(self, expired: type[BaseException]) -> None:
        self._expired = expired
        self._waits: list[_Wait] = []
        self._added = count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._compact_at = COMPACT_AT

    def __len__(self) -> int:
        return len(self._waits)

    def add(
        self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], seconds: float
    ) -> None:
        waits = self._waits
        while waits and waits[0][2].done():
            heapq.heappop(waits)
        if len(waits) > self._compact_at:
            waits[:] = [wait for wait in waits if not wait[2].done()]
            heapq.heapify(waits)
            self._compact_at = max(COMPACT_AT, 2 * len(waits))
        end = loop.time() + seconds
        heapq.heappush(waits, (end, next(self._added), future))
        if self._timer is None or end < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._arm(loop, end)

    def _arm(self, loop: asyncio.AbstractEventLoop, end: float) -> None:
        self._timer = loop.call_at(end, self._settle, loop)
        self._timer_at = end

    def _settle(self, loop: asyncio.AbstractEventLoop) -> None:
        """Expire the waits that have ended; re-arm for the earliest one left."""
        waits = self._waits
        ended = loop.time() + EARLY_SECONDS
        while waits:
            end, _, future = waits[0]
            if not future.done():
                if end > ended:
                    break
                future.set_exception(self._expired())
            heapq.heappop(waits)
        if waits:
            self._arm(loop, waits[0][0])
        else:
            self._timer = None
