"""The protocol-neutral inference step both wire protocols call: route, batch, check output."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import numpy as np

from modelyard.errors import ModelFailed
from modelyard.runtime.inputs import Columns
from modelyard.runtime.runner import Output
from modelyard.runtime.table import ActiveEndpoint
from modelyard.serving.metrics import Metrics


@dataclass(frozen=True)
class Served:
    output: Output
    version: str  # "churn@3": which version computed it
    prediction_ids: list[str]


async def infer(active: ActiveEndpoint, columns: Columns, metrics: Metrics) -> Served:
    started = time.perf_counter()
    ref = active.loaded.ref
    name = active.endpoint.name
    status = "500"
    metrics.in_flight.inc()
    try:
        output = await active.batcher.submit(columns)
        _check_finite(output, ref)
        status = "200"
        metrics.rows.labels(name, ref).inc(columns.rows)
        # One random id per request, one suffix per row: unique, and cheap for big batches.
        base = uuid.uuid4().hex
        return Served(output, ref, [f"{base}-{i}" for i in range(columns.rows)])
    except Exception as exc:
        from modelyard.serving.errors import STATUS

        status = str(STATUS.get(getattr(exc, "code", ""), 500))
        raise
    finally:
        metrics.in_flight.dec()
        metrics.requests.labels(name, ref, status).inc()
        metrics.latency.labels(name).observe((time.perf_counter() - started) * 1000)


def _check_finite(output: Output, ref: str) -> None:
    """NaN/Inf cannot be sent as JSON numbers; say so instead of sending nulls."""
    for what, values in (
        ("predictions", output.predictions),
        ("probabilities", output.probabilities),
    ):
        if values is not None and values.dtype.kind == "f" and not np.isfinite(values).all():
            raise ModelFailed(f"{ref} produced non-finite {what} (NaN or Inf)")
