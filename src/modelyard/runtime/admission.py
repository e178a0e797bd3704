"""Admission by time: is there room to answer a request within its deadline?

A row count says nothing about time: 1,024 queued rows are 2 ms of a linear model and
seconds of a large forest. Each loaded version therefore keeps what one row has cost it
(:class:`RowCost`, seeded from the warm-up and updated from every batch), and a request is
admitted when the work ahead of it plus its own, at that cost, fits in its deadline
(:func:`judge`). A refusal says when to come back: by then the work ahead will have shrunk
by the amount that did not fit.

What is queued is also bounded in bytes (:class:`QueueMemory`, one per process): that is
a memory bound only, and an idle model takes any request that fits in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from modelyard.domain.signature import Signature

OBJECT_BYTES = 64  # a text value or a boxed one, pointer included
DEFAULT_SECONDS_PER_ROW = 1e-4  # before the warm-up measured anything: 10,000 rows/s
ROW_WEIGHT = 0.002  # each row observed moves the average this much (a 100-row batch: 18%)


class RowCost:
    """Seconds per row of one version: an exponentially weighted moving average in which
    every row of a batch is one sample, so a large batch weighs more than a one-row one.
    Batches are timed in the model's thread: how late a busy event loop notices an answer
    is not the model's cost (measured from the loop, one late batch under load made 100-row
    requests look 10 times dearer and refused them).

    One-row batches alone make the average the whole per-call cost (an overestimate for a
    large queue, which only makes admission careful); a batch of many rows brings it
    down to the cost at scale.
    """

    def __init__(self, seconds_per_row: float = DEFAULT_SECONDS_PER_ROW) -> None:
        self.seconds_per_row = seconds_per_row

    def seed(self, rows: int, seconds: float) -> None:
        """Start from one measurement (the warm-up), forgetting the default."""
        if rows > 0 and seconds > 0:
            self.seconds_per_row = seconds / rows

    def observe(self, rows: int, seconds: float) -> None:
        if rows <= 0 or seconds < 0:
            return
        kept = (1.0 - ROW_WEIGHT) ** rows
        self.seconds_per_row = kept * self.seconds_per_row + (1.0 - kept) * (seconds / rows)

    def seconds_for(self, rows: int) -> float:
        return rows * self.seconds_per_row


@dataclass(frozen=True)
class Refusal:
    """Why a request was not admitted, in the terms its caller can act on."""

    expected_seconds: float  # until its answer, had it been queued
    deadline_seconds: float
    retry_after: int  # whole seconds (the Retry-After header)

    def message(self, ahead_rows: int, seconds_per_row: float, deadline_source: str) -> str:
        return (
            f"expected wait {self.expected_seconds * 1000:.0f} ms ({ahead_rows} rows ahead "
            f"at {seconds_per_row * 1000:.3f} ms per row) exceeds this request's deadline of "
            f"{self.deadline_seconds * 1000:.0f} ms ({deadline_source}); retry after "
            f"{self.retry_after} s"
        )


def judge(
    ahead_rows: int, own_rows: int, seconds_per_row: float, deadline_seconds: float
) -> Refusal | None:
    """``None`` when the request can be answered in time: nothing is ahead of it (an idle
    model never refuses; a request too slow even alone gets its timeout), or the work
    ahead plus its own fits in ``deadline_seconds``."""
    if ahead_rows <= 0:
        return None
    expected = (ahead_rows + own_rows) * seconds_per_row
    if expected <= deadline_seconds:
        return None
    return Refusal(expected, deadline_seconds, retry_after(expected - deadline_seconds))


def retry_after(excess_seconds: float) -> int:
    """Whole seconds until the work ahead has shrunk by ``excess_seconds`` (at least 1)."""
    return max(1, math.ceil(excess_seconds))


class QueueMemory:
    """Bytes of request rows queued in this process, against ``limit``: a memory bound
    shared by every batcher, so many endpoints cannot together outgrow it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def fits(self, nbytes: int) -> bool:
        return self.used + nbytes <= self.limit


def row_bytes(signature: Signature) -> int:
    """Bytes one decoded row holds, estimated once per version from its signature (per
    request it would cost a pass over the columns): 8 per number, ``OBJECT_BYTES`` per
    other value, a tensor's elements at 8 bytes (a dimension of any size counted as 1)."""
    total = 0
    for spec in signature.inputs:
        if spec.kind == "tensor":
            total += 8 * math.prod(d or 1 for d in spec.shape or ()) + OBJECT_BYTES
        elif spec.numeric:
            total += 8
        else:
            total += OBJECT_BYTES
    return max(total, 8)
