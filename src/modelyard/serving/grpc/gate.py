"""The RPCs in flight, so a stop lets their answers leave before the front closes.

pygrpc-native's ``Server.stop`` waits for the calls' tasks and then closes its HTTP/2
front at once; an answer handed to the front in a call's last step could still be queued
there, and the client got UNAVAILABLE ("GOAWAY received") instead (seen once in a
SIGTERM drain test). So the server's stop goes through this gate first: new calls are
refused UNAVAILABLE (as the server itself refuses them once stopping), the calls in
flight are waited for within the grace, and the front is given a moment of what is left
of it to write their answers before the server's own stop closes it. (A call the front
took just before the gate closed, but whose handler had not started, is refused too,
where the server's own stop would have waited for it: a window of one loop step.)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any

import grpc

from modelyard.serving.grpc.handlers import Method

SETTLE_SECONDS = 0.2  # for answers already given to leave the front before it closes


class CallGate:
    def __init__(self) -> None:
        self.in_flight = 0
        self.closed = False
        self._idle: asyncio.Event | None = None  # made by close, in the loop

    def guard(self, method: Method) -> Method:
        """``method`` counted while it runs, and refused once the gate is closed."""

        @functools.wraps(method)
        async def guarded(request: Any, context: Any) -> Any:
            if self.closed:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "the server is shutting down")
            self.in_flight += 1
            try:
                return await method(request, context)
            finally:
                self.in_flight -= 1
                if not self.in_flight and self._idle is not None:
                    self._idle.set()

        return guarded

    async def close(self, grace: float) -> None:
        """Refuse new calls, wait up to ``grace`` seconds for those in flight, then give
        their answers up to :data:`SETTLE_SECONDS` of what is left of it to leave."""
        self.closed = True
        loop = asyncio.get_running_loop()
        until = loop.time() + grace
        if self.in_flight:
            self._idle = asyncio.Event()
            with contextlib.suppress(TimeoutError):  # the server's stop cuts what is left
                await asyncio.wait_for(self._idle.wait(), grace)
        await asyncio.sleep(min(SETTLE_SECONDS, max(0.0, until - loop.time())))


async def stop_behind(gate: CallGate, server: grpc.aio.Server, grace: float) -> None:
    """Close ``gate`` within ``grace`` seconds, then stop ``server`` with what is left of it
    (whatever the grace leaves, the server's stop cuts): the whole stop lasts no longer
    than the server's own stop given the same grace."""
    loop = asyncio.get_running_loop()
    until = loop.time() + grace
    await gate.close(grace)
    await server.stop(max(0.0, until - loop.time()))
