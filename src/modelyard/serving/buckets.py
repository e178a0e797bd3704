"""Token buckets, one per caller (a key, a client address), in this process's memory.

A bucket holds up to ``burst`` tokens and gains ``rate`` tokens a second; a request spends
one. The clock is passed in, so the arithmetic is tested without sleeping. Memory is
bounded: past ``max_entries`` callers, buckets that have refilled (the same as no bucket)
are dropped first, then the oldest.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

SWEEP_SECONDS = 1.0  # at most one full sweep a second, however many new callers arrive


class Buckets:
    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        # caller → [tokens, when counted, when full again]
        self._state: dict[Hashable, list[float]] = {}
        self._swept = -math.inf

    def __len__(self) -> int:
        return len(self._state)

    def take(self, who: Hashable, now: float, rate: float, burst: int) -> float:
        """Spend one token: 0.0 when there was one, else the seconds until there is."""
        state = self._refill(who, now, rate, burst)
        if state[0] >= 1:
            state[0] -= 1
            state[2] = now + (burst - state[0]) / rate
            return 0.0
        return (1 - state[0]) / rate

    def wait(self, who: Hashable, now: float, rate: float, burst: int) -> float:
        """Seconds until ``who`` has a token (0.0: now); spends nothing."""
        state = self._state.get(who)
        if state is None:
            return 0.0
        tokens = min(burst, state[0] + (now - state[1]) * rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / rate

    def spend(self, who: Hashable, now: float, rate: float, burst: int) -> None:
        """Spend one token whether or not one is left (what already happened: a failure)."""
        state = self._refill(who, now, rate, burst)
        state[0] = max(0.0, state[0] - 1)
        state[2] = now + (burst - state[0]) / rate

    def _refill(self, who: Hashable, now: float, rate: float, burst: int) -> list[float]:
        state = self._state.get(who)
        if state is None:
            if len(self._state) >= self.max_entries:
                self._make_room(now)
            state = self._state[who] = [float(burst), now, now]
            return state
        state[0] = min(burst, state[0] + (now - state[1]) * rate)
        state[1] = now
        return state

    def _make_room(self, now: float) -> None:
        if now - self._swept >= SWEEP_SECONDS:
            self._swept = now
            for who in [w for w, s in self._state.items() if s[2] <= now]:
                del self._state[who]
        while len(self._state) >= self.max_entries:
            del self._state[next(iter(self._state))]


def retry_after(wait: float) -> str:
    """``Retry-After`` is whole seconds: round up, and never say 0 to a refused caller."""
    return str(max(1, math.ceil(wait)))
