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
latency_of = attrgetter("latency_ms")
predictions_of = attrgetter("output.predictions")
probabilities_of = attrgetter("output.probabilities")


@dataclass(frozen=True, slots=True)
class PredictionEvent:
    endpoint: str
    version: str  # "churn@3"
    columns: Columns
    output: Output
    prediction_ids: list[str]
    latency_ms: float  # queue + model time of the request
    at: float  # time.time() when the answer was ready
    log_inputs: float  # share of rows whose raw inputs may be stored
    routing_key: str | None = None
    segments: SegmentSpec | None = None  # the endpoint's segmenting features, if any


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
