"""Mirroring answered requests to shadow versions, off the response path.

The caller's answer is computed first and never waits for a shadow: each mirrored request
is a task of its own, started after the answer exists. A full shadow queue skips the copy
(counted), a shadow that raises or times out is counted and logged at most once a minute,
and nothing a shadow does reaches the response. Task references are kept until they end,
so the loop cannot garbage-collect one mid-flight.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import random
import time
from dataclasses import dataclass

import numpy as np

from modelyard.domain.endpoints import shadow_label
from modelyard.errors import Overloaded, first_line
from modelyard.runtime.active import ActiveEndpoint
from modelyard.runtime.events import PredictionEvent, PredictionObserver, ShadowEvent
from modelyard.runtime.inputs import Columns
from modelyard.runtime.runner import Output
from modelyard.runtime.shadow import Comparison, compare_outputs
from modelyard.serving.metrics import ShadowMetrics

log = logging.getLogger(__name__)
MAX_TASKS = 10_000  # mirrored requests in flight at once, over every shadow
LOG_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class _Answered:
    """The request as the caller got it: what the shadow is compared with."""

    endpoint: str
    primary: str
    columns: Columns
    output: Output
    latency_ms: float
    ids: list[str]
    routing_key: str | None
    classes: tuple[object, ...] | None


class Mirror:
    def __init__(
        self,
        metrics: ShadowMetrics,
        observer: PredictionObserver | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.metrics = metrics
        self.observer = observer
        self._random = rng or random.Random()
        self._tasks: set[asyncio.Task[None]] = set()
        self._logged_at: dict[tuple[str, str, str], float] = {}
        self._unlogged: dict[tuple[str, str, str], int] = {}

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def send(
        self,
        served: ActiveEndpoint,
        columns: Columns,
        output: Output,
        latency_ms: float,
        ids: list[str],
        routing_key: str | None = None,
    ) -> None:
        """Start a copy of this answered request on each shadow; returns at once and never
        raises (the caller's response must not depend on it)."""
        if not served.shadows:
            return
        try:
            answered = _Answered(
                served.endpoint.name,
                served.loaded.ref,
                columns,
                # without the primary's model call: a mirrored task may outlive it by the
                # shadow's timeout, and the comparison needs this request's answers only
                dataclasses.replace(output, call=None) if output.call is not None else output,
                latency_ms,
                ids,
                routing_key,
                served.loaded.runner.predictor.classes,
            )
            for shadow in served.shadows:
                self._start(shadow, answered)
        except Exception:  # a bug here must cost the shadows, never the caller
            log.exception("mirroring to the shadows of %s failed", served.endpoint.name)

    def _start(self, shadow: ActiveEndpoint, answered: _Answered) -> None:
        if shadow.mirrored < 100 and self._random.random() * 100 >= shadow.mirrored:
            return
        batcher = shadow.batcher
        if (
            len(self._tasks) >= MAX_TASKS
            or batcher.queued_rows + answered.columns.rows > batcher.limits.queue_rows
        ):
            self._skipped(shadow, answered)
            return
        task = asyncio.get_running_loop().create_task(self._mirror(shadow, answered))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mirror(self, shadow: ActiveEndpoint, answered: _Answered) -> None:
        started = time.perf_counter()
        try:
            output = await shadow.batcher.submit(answered.columns)
        except Overloaded:  # filled up since the check, or shutting down
            self._skipped(shadow, answered)
            return
        except Exception as exc:  # the shadow's failure, never the caller's
            self._failed(shadow, answered, exc)
            return
        try:
            self._compared(shadow, answered, output, (time.perf_counter() - started) * 1000)
        except Exception as exc:  # odd output (wrong length, NaN): counted as a failure
            self._failed(shadow, answered, exc)

    def _compared(
        self, shadow: ActiveEndpoint, answered: _Answered, output: Output, latency_ms: float
    ) -> None:
        _check_finite(output)
        same = shadow.loaded.runner.predictor.classes == answered.classes
        comparison = compare_outputs(answered.output, output, same)
        labels = (answered.endpoint, answered.primary, shadow.loaded.ref)
        m = self.metrics
        m.rows.labels(*labels).inc(comparison.rows)
        m.agreements.labels(*labels).inc(comparison.agreements)
        m.abs_diff.labels(*labels).inc(comparison.abs_diff)
        m.proba_rows.labels(*labels).inc(comparison.proba_rows)
        m.proba_abs_diff.labels(*labels).inc(comparison.proba_abs_diff)
        m.latency.labels(*labels).observe(latency_ms / 1000)
        if self.observer is None:
            return
        now = time.time()
        tag = shadow_id_tag(shadow.loaded.ref)
        prediction = PredictionEvent.of_answer(
            endpoint=answered.endpoint,
            version=shadow_label(shadow.loaded.ref),
            columns=answered.columns,
            output=output,
            prediction_ids=[f"{pid}~{tag}" for pid in answered.ids],
            latency_ms=latency_ms,
            at=now,
            log_inputs=0.0,  # the answered row keeps the inputs when they are sampled
            routing_key=answered.routing_key,
        )
        self._tell(shadow, answered, "compared", now, comparison, prediction)

    def _failed(self, shadow: ActiveEndpoint, answered: _Answered, exc: Exception) -> None:
        labels = (answered.endpoint, answered.primary, shadow.loaded.ref)
        self.metrics.errors.labels(*labels).inc(answered.columns.rows)
        self._log(labels, exc)
        self._tell(shadow, answered, "failed", time.time())

    def _skipped(self, shadow: ActiveEndpoint, answered: _Answered) -> None:
        labels = (answered.endpoint, answered.primary, shadow.loaded.ref)
        self.metrics.skipped.labels(*labels).inc(answered.columns.rows)
        self._tell(shadow, answered, "skipped", time.time())

    def _tell(
        self,
        shadow: ActiveEndpoint,
        answered: _Answered,
        outcome: str,
        at: float,
        comparison: Comparison | None = None,
        prediction: PredictionEvent | None = None,
    ) -> None:
        if self.observer is None:
            return
        event = ShadowEvent(
            endpoint=answered.endpoint,
            version=shadow.loaded.ref,
            primary=answered.primary,
            rows=answered.columns.rows,
            primary_latency_ms=answered.latency_ms,
            at=at,
            outcome=outcome,
            comparison=comparison,
            prediction=prediction,
        )
        try:
            self.observer.shadowed(event)
        except Exception:  # monitoring never breaks serving, shadows included
            log.exception("shadow observer failed")

    def _log(self, labels: tuple[str, str, str], exc: Exception) -> None:
        """At most one line per endpoint × primary × shadow a minute, with a count of the
        failures in between (a shadow failing on every request must not flood the log)."""
        now = time.monotonic()
        last = self._logged_at.get(labels)
        if last is not None and now - last < LOG_EVERY_SECONDS:
            self._unlogged[labels] = self._unlogged.get(labels, 0) + 1
            return
        self._logged_at[labels] = now
        more = self._unlogged.pop(labels, 0)
        since = f" (and {more} more since the last report)" if more else ""
        endpoint, primary, shadow = labels
        log.warning(
            "endpoint %s: shadow %s failed beside %s%s: %s",
            endpoint,
            shadow,
            primary,
            since,
            first_line(exc),
        )

    async def drain(self) -> None:
        """Wait for mirrored requests still running (at shutdown, after the batchers close)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def shadow_id_tag(ref: str) -> str:
    """Eight hex digits naming the shadow in its row ids: ``<answered id>~<tag>``."""
    return hashlib.blake2s(ref.encode(), digest_size=4).hexdigest()


def _check_finite(output: Output) -> None:
    for values in (output.predictions, output.probabilities):
        if values is not None and values.dtype.kind == "f" and not np.isfinite(values).all():
            raise ValueError("the shadow produced non-finite values (NaN or Inf)")
