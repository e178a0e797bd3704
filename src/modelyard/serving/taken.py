"""How many inference requests this process answered on the connection itself
(serving/direct.py): read by ``modelyard_direct_requests_total``.

A plain tally, like the refusals' (refusals.py): the connection protocol counts, and the
metrics read it at scrape time, so counting costs a request one addition.
"""

from __future__ import annotations


class Taken:
    def __init__(self) -> None:
        self.direct = 0


TAKEN = Taken()
