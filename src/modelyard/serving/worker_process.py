"""What runs in each worker process of ``serve --workers N`` (serving/workers.py): uvicorn
on the worker's own listening socket, its event loop stamping a clock the supervisor reads,
and an end with the supervisor."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from socket import socket
from typing import Any

_PR_SET_PDEATHSIG = 1
NOT_STARTED = 0.0  # a beat before the first tick
STOPPING = -1.0  # a beat once the worker shuts down: its drain is not a hang


def serve_one(config: Any, sock: socket, beat: Any, supervisor: int) -> None:
    """A worker: uvicorn's server on ``sock``; ``beat`` (a shared double) holds the
    ``time.monotonic()`` of its loop's last tick (one clock for every process on Linux)."""
    import uvicorn

    class BeatingServer(uvicorn.Server):
        async def on_tick(self, counter: int) -> bool:  # every 0.1 s once started
            beat.value = time.monotonic()
            should_exit: bool = await super().on_tick(counter)
            if should_exit:
                beat.value = STOPPING
            return should_exit

    _end_with(supervisor)
    config.configure_logging()  # logging is set up again in each spawned process
    # uvicorn re-raises the SIGINT it shut down for: no traceback from every worker.
    with contextlib.suppress(KeyboardInterrupt):
        BeatingServer(config).run(sockets=[sock])


def _end_with(supervisor: int) -> None:
    """SIGTERM this process when the supervisor dies, even by SIGKILL, so no worker serves
    on without it; if it died before this was asked, end now."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        errno = ctypes.get_errno()
        logging.getLogger("uvicorn.error").warning(
            "worker [%d]: cannot ask to end with the supervisor: %s",
            os.getpid(),
            os.strerror(errno),
        )
    if os.getppid() != supervisor:
        sys.exit(0)
