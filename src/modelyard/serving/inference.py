"""The protocol-neutral inference step both wire protocols call: route, batch, check output."""

from __future__ import annotations

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
    """Queue rows on the endpoint's batcher; requests and latency are counted by the caller."""
    metrics.in_flight.inc()
    try:
        output = await active.batcher.submit(columns)
    finally:
        metrics.in_flight.dec()
    ref = active.loaded.ref
    _check_finite(output, ref)
    metrics.rows.labels(active.endpoint.name, ref).inc(columns.rows)
    # One random id per request, one suffix per row: unique, and cheap for big batches.
    base = uuid.uuid4().hex
    return Served(output, ref, [f"{base}-{i}" for i in range(columns.rows)])


def _check_finite(output: Output, ref: str) -> None:
    """NaN/Inf cannot be sent as JSON numbers; say so instead of sending nulls."""
    for what, values in (
        ("predictions", output.predictions),
        ("probabilities", output.probabilities),
    ):
        if values is not None and values.dtype.kind == "f" and not np.isfinite(values).all():
            raise ModelFailed(f"{ref} produced non-finite {what} (NaN or Inf)")
