"""The protocol-neutral inference step both wire protocols call: route, batch, check output."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from prometheus_client import Counter

from modelyard.domain.signature import Signature
from modelyard.errors import ModelFailed, Overloaded, YardError
from modelyard.runtime.active import ActiveEndpoint
from modelyard.runtime.events import PredictionEvent, PredictionObserver
from modelyard.runtime.inputs import Columns
from modelyard.runtime.runner import Output
from modelyard.serving.errors import HttpError
from modelyard.serving.ids import random_hex
from modelyard.serving.metrics import Metrics
from modelyard.serving.refusals import REFUSALS
from modelyard.serving.shadow import Mirror


@dataclass(slots=True)  # not frozen: see runtime/events.py's PredictionEvent
class Served:
    output: Output
    version: str  # "churn@3": which version computed it
    prediction_ids: list[str]


class Inference:
    """Rows in, checked answers out: the batcher, the rows counter, the observer and the
    shadows. The rows counter's child per endpoint × version is bound once, not per call."""

    def __init__(
        self, metrics: Metrics, observer: PredictionObserver | None, mirror: Mirror
    ) -> None:
        self.metrics = metrics
        self.observer = observer
        self.mirror = mirror
        self._rows: dict[tuple[str, str], Counter] = {}

    async def infer(
        self,
        active: ActiveEndpoint,
        columns: Columns,
        routing_key: str | None = None,
        deadline: float | None = None,
    ) -> Served:
        """Queue rows on the route's batcher; requests and latency are counted by the
        caller. Once the answer exists, the request is copied to the route's shadows
        (tasks of their own: the answer never waits for them)."""
        started = time.perf_counter()
        ref = active.loaded.ref
        in_flight = self.metrics.in_flight
        in_flight.inc()
        try:
            output = await active.batcher.submit(columns, deadline)
            _check_finite(output, ref)
        except YardError as exc:
            if isinstance(exc, Overloaded) and exc.limit is not None:
                REFUSALS.add(exc.limit)
            # Which route failed goes with the error, so a canary's failures count against
            # the canary (and can abort it), not against the endpoint's primary version.
            exc.served_by = ref
            raise
        finally:
            in_flight.dec()
        name = active.endpoint.name
        rows = self._rows.get((name, ref))
        if rows is None:
            rows = self._rows[(name, ref)] = self.metrics.rows.labels(name, ref)
        rows.inc(columns.rows)
        # One id per request, one suffix per row: unique, and cheap for big batches. The id
        # starts with the time so the prediction log appends at the end of its primary-key
        # index instead of at random places (several times cheaper to insert).
        base = f"{time.time_ns():016x}{random_hex(8)}"
        ids = [f"{base}-{i}" for i in range(columns.rows)]
        latency_ms = (time.perf_counter() - started) * 1000
        if self.observer is not None:
            self.observer.predicted(
                PredictionEvent.of_answer(
                    endpoint=name,
                    version=ref,
                    columns=columns,
                    output=output,
                    prediction_ids=ids,
                    latency_ms=latency_ms,
                    at=time.time(),
                    log_inputs=active.endpoint.monitoring.log_inputs,
                    routing_key=routing_key,
                    segments=active.endpoint.monitoring.segments,
                )
            )
        if active.shadows:
            self.mirror.send(active, columns, output, latency_ms, ids, routing_key)
        return Served(output, ref, ids)


def decode_for(
    active: ActiveEndpoint,
    signature: Signature,
    payload: object,
    decode: Callable[[Signature, object], Columns],
    count_rows: Callable[[object], int],
) -> Columns:
    """Decode against the picked route's signature; a refusal names that route's version
    (a candidate with a stricter signature must not charge its 422s to the primary).
    A request over the endpoint's row cap, if it has one, is refused first, before any
    row is decoded."""
    limit = active.endpoint.limits.max_request_rows
    if limit is not None:
        rows = count_rows(payload)
        if rows > limit:
            REFUSALS.add("request_rows")
            raise HttpError(
                413,
                "too_many_rows",
                f"{rows} rows in one request; endpoint {active.endpoint.name!r} takes at "
                f"most {limit} per request (its limit max_request_rows)",
            )
    try:
        return decode(signature, payload)
    except YardError as exc:
        exc.served_by = active.loaded.ref
        raise


def _check_finite(output: Output, ref: str) -> None:
    """NaN/Inf cannot be sent as JSON numbers; say so instead of sending nulls. A batch
    found finite on the model's thread needs no look per request."""
    if output.finite:
        return
    for what, values in (
        ("predictions", output.predictions),
        ("probabilities", output.probabilities),
    ):
        if values is not None and values.dtype.kind == "f" and not np.isfinite(values).all():
            raise ModelFailed(f"{ref} produced non-finite {what} (NaN or Inf)")
