"""What serving tells the outside about each prediction: the observer interface.

Serving emits events and never learns who listens; monitoring implements the observer and
never imports serving. Calls happen on the event loop, so an observer must only queue the
event and return (work belongs on its own thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Protocol

from modelyard.domain.segments import SegmentSpec
from modelyard.runtime.inputs import Columns
from modelyard.runtime.runner import Output
from modelyard.runtime.shadow import Comparison

SHADOW_OUTCOMES = ("compared", "failed", "skipped")

# An event's fields as C getters, for a flush that reads them from tens of thousands of
# events with ``map`` (monitoring/stacked.py, monitoring/log_rows.py).
columns_of = attrgetter("columns")
output_of = attrgetter("output")
first_of = attrgetter("first")
ids_of = attrgetter("prediction_ids")
latency_of = attrgetter("latency_ms")


@dataclass(slots=True)
class PredictionEvent:
    """One answered request. ``columns`` and ``output`` are mostly those of the model call
    that answered it, shared by every request of that call (a flush stacks a few calls'
    arrays, not one small copy per request, and frees a few objects per request, not a
    dozen); the request's own rows are ``first`` to ``first + rows`` of them. A request
    answered in slices by several calls carries its own arrays, with ``first`` 0.

    Not frozen, nor are the other objects made once per request (``Columns``, ``Output``,
    ``Served``): a frozen dataclass sets each field through ``object.__setattr__``, and
    its ``__init__`` cost ~6x a plain one (11 fields: 0.97 against 0.16 µs, measured).
    Nothing changes them once made."""

    endpoint: str
    version: str  # "churn@3"
    columns: Columns
    output: Output
    prediction_ids: list[str]  # one per row of the request
    latency_ms: float  # queue + model time of the request
    at: float  # time.time() when the answer was ready
    log_inputs: float  # share of rows whose raw inputs may be stored
    routing_key: str | None = None
    segments: SegmentSpec | None = None  # the endpoint's segmenting features, if any
    first: int = 0

    @classmethod
    def of_answer(
        cls,
        *,
        endpoint: str,
        version: str,
        columns: Columns,
        output: Output,
        prediction_ids: list[str],
        latency_ms: float,
        at: float,
        log_inputs: float,
        routing_key: str | None = None,
        segments: SegmentSpec | None = None,
    ) -> PredictionEvent:
        """The event of a request whose rows ``columns`` got the answer ``output``: it
        keeps the model call's shared arrays when the answer names its call, else its own."""
        call = output.call
        if call is not None:
            columns, output, first = call.columns, call.output, output.first
        else:
            first = 0
        return cls(
            endpoint,
            version,
            columns,
            output,
            prediction_ids,
            latency_ms,
            at,
            log_inputs,
            routing_key,
            segments,
            first,
        )

    @property
    def rows(self) -> int:
        return len(self.prediction_ids)

    def own_columns(self) -> Columns:
        """The request's rows alone (views)."""
        if self.first == 0 and self.columns.rows == self.rows:
            return self.columns
        return self.columns.slice(self.first, self.first + self.rows)

    def own_output(self) -> Output:
        """The request's answers alone (views)."""
        output = self.output
        if self.first == 0 and len(output.predictions) == self.rows:
            return output
        return output.rows(self.first, self.first + self.rows)


@dataclass(frozen=True)
class ShadowEvent:
    """What became of one request mirrored to a shadow (never seen by the caller)."""

    endpoint: str
    version: str  # the shadow, "churn@5"
    primary: str  # the version whose answer the caller got, "churn@3"
    rows: int
    primary_latency_ms: float
    at: float
    outcome: str  # compared, failed (the shadow raised or timed out), skipped (queue full)
    comparison: Comparison | None = None
    # The shadow's own answer, logged under its version marked as a shadow ("churn@5~shadow")
    # with ids of its own, so it never passes for an answer a caller got.
    prediction: PredictionEvent | None = None


class PredictionObserver(Protocol):
    def predicted(self, event: PredictionEvent) -> None:
        """Rows were predicted (called on the event loop: queue and return)."""

    def failed(self, endpoint: str, version: str, status: int, rule: str | None = None) -> None:
        """A request to ``endpoint`` ended with an HTTP error ``status`` (a 4xx: refused
        by ``rule``, one of domain/refusal_rules.py's names)."""

    def shadowed(self, event: ShadowEvent) -> None:
        """A mirrored request was compared, failed or skipped (on the event loop)."""

    def flush(self) -> None:
        """Write everything queued so far (blocking; call from a worker thread)."""
