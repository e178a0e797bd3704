"""Requests answered together by one model call: each caller's answer, and each logged
row, is that request's own (monitoring keeps the call's arrays, shared, not a copy each)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import numpy as np
from prometheus_client import CollectorRegistry

from modelyard import Yard
from modelyard.domain.monitoring import MonitorSpec
from modelyard.monitoring.recorder import Recorder
from modelyard.monitoring.summary import summarize_recent
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.pool import ModelPool
from modelyard.runtime.table import EndpointTable
from modelyard.serving.inference import Inference, Served
from modelyard.serving.metrics import Metrics
from modelyard.serving.shadow import Mirror


def test_requests_batched_together_log_their_own_answers_and_inputs(
    sqlite_yard: Yard, logreg, cancer
) -> None:
    X, _ = cancer
    sqlite_yard.register(logreg, "churn", sample=X)
    sqlite_yard.create_endpoint("churn-api", "churn@1")
    sqlite_yard.configure_monitoring("churn-api", MonitorSpec(log_inputs=1.0))
    sizes = [1, 3, 1, 2, 1, 1, 4, 1] * 5  # 70 rows in 40 requests, sent together
    starts = np.cumsum([0, *sizes[:-1]])

    async def main() -> list[Served]:
        table = EndpointTable(sqlite_yard, ModelPool(sqlite_yard.stores.artifacts))
        await table.refresh()
        metrics = Metrics(CollectorRegistry())
        recorder = Recorder(sqlite_yard, bucket_seconds=60)
        active = table.get("churn-api")
        signature = active.loaded.runner.predictor.signature
        inference = Inference(metrics, recorder, Mirror(metrics.shadow, recorder))
        served = await asyncio.gather(
            *(
                inference.infer(active, from_frame(signature, X.iloc[s : s + n]))
                for s, n in zip(starts, sizes, strict=True)
            )
        )
        await table.close()
        recorder.flush()
        return list(served)

    served = asyncio.run(main())
    assert len({id(answer.output.call) for answer in served}) < len(sizes)  # calls shared
    summary = summarize_recent(sqlite_yard.monitor, "churn-api", timedelta(hours=1))
    [version] = summary.versions
    assert (version.rows, version.requests) == (sum(sizes), len(sizes))
    log = sqlite_yard.stores.predictions
    for answer, start, size in zip(served, starts, sizes, strict=True):
        rows = X.iloc[start : start + size]
        assert answer.output.predictions.tolist() == logreg.predict(rows).tolist()
        for i, pid in enumerate(answer.prediction_ids):
            logged = log.get(pid)
            assert json.loads(logged["prediction"]) == int(logreg.predict(rows)[i])
            scores = json.loads(logged["scores"])
            assert np.allclose(scores, logreg.predict_proba(rows)[i])
            inputs = json.loads(logged["inputs"])
            assert inputs["mean radius"] == rows["mean radius"].iloc[i]
