"""Requests served in one process through the real table, batcher, recorder and store,
sent together (so they share model calls), with monitoring flushed at the end."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pandas as pd
from prometheus_client import CollectorRegistry

from modelyard import Yard
from modelyard.monitoring.recorder import Recorder
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.pool import ModelPool
from modelyard.runtime.table import EndpointTable
from modelyard.serving.inference import Inference, Served
from modelyard.serving.metrics import Metrics
from modelyard.serving.shadow import Mirror


def serve_together(
    yard: Yard, endpoint: str, requests: Sequence[pd.DataFrame]
) -> tuple[list[Served], Metrics]:
    """Each frame is one request; the answers in the requests' order."""

    async def main() -> tuple[list[Served], Metrics]:
        table = EndpointTable(yard, ModelPool(yard.stores.artifacts))
        await table.refresh()
        metrics = Metrics(CollectorRegistry())
        recorder = Recorder(yard, bucket_seconds=60)
        active = table.get(endpoint)
        signature = active.loaded.runner.predictor.signature
        mirror = Mirror(metrics.shadow, recorder)
        inference = Inference(metrics, recorder, mirror)
        served = await asyncio.gather(
            *(inference.infer(active, from_frame(signature, rows)) for rows in requests)
        )
        await mirror.drain()
        await table.close()
        recorder.flush()
        return list(served), metrics

    return asyncio.run(main())
