"""A request's own deadline, from the ``X-Modelyard-Deadline-Ms`` header.

A caller that will give up after 200 ms would rather hear at once that the queued work
cannot be done by then (503 with ``Retry-After``) than wait for a 504. The header can only
shorten the endpoint's timeout: a longer one is capped by the batcher.
"""

from __future__ import annotations

import math

from starlette.requests import Request

from modelyard.serving.errors import HttpError
from modelyard.serving.headers import header

HEADER = b"x-modelyard-deadline-ms"
NAME = "X-Modelyard-Deadline-Ms"


def deadline_of(request: Request) -> float | None:
    """Seconds the caller gives this request, or ``None`` (the endpoint's timeout)."""
    given = header(request, HEADER)
    if given is None:
        return None
    try:
        milliseconds = float(given)
    except ValueError:
        milliseconds = math.nan
    if not (math.isfinite(milliseconds) and milliseconds > 0):
        raise HttpError(
            400,
            "bad_request",
            f"header {NAME}: must be a positive number of milliseconds, got {given[:40]!r}",
        )
    return milliseconds / 1000
