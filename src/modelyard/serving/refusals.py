"""What this process refused, by limit: read by ``modelyard_refused_total{limit}``.

One tally per process rather than per app: uvicorn builds the connection protocol (which
refuses slow headers and connections past the cap) from its config alone, with no handle
on the app, and a server process runs one app.
"""

from __future__ import annotations

LIMITS = (
    "key_rate",  # a key past its rate limit (429)
    "client_rate",  # a client address past its rate limit (429)
    "auth_failures",  # a client address that presented too many invalid keys (429)
    "request_rows",  # more rows in one request than the endpoint takes (413)
    "header_timeout",  # request headers that did not arrive in time (408 or close)
    "body_timeout",  # a request body that did not arrive in time (408 or close)
    "connections",  # a connection past the cap (503 and close)
    "deadline",  # more work queued than the request's deadline allows (503)
    "queue_bytes",  # queued rows past MODELYARD_MAX_QUEUED_BYTES (503)
)


class Refusals:
    def __init__(self) -> None:
        self.counts = dict.fromkeys(LIMITS, 0)

    def add(self, limit: str) -> None:
        self.counts[limit] += 1


REFUSALS = Refusals()
