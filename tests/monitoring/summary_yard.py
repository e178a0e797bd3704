"""A yard whose monitor has everything a summary can say: two buckets of traffic with a
shifted feature, errors, feedback, a shadow compared with the primary and a version
registered without a reference sample."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from modelyard import Yard
from modelyard.domain.endpoints import Route, shadow_label
from modelyard.domain.signature import Signature
from modelyard.monitoring.recorder import Recorder
from modelyard.monitoring.summary import summarize
from modelyard.runtime.events import PredictionEvent, ShadowEvent
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.runner import Output
from modelyard.runtime.shadow import compare_outputs

BUCKET = 60
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ENDPOINT = "cancer-api"


def build(
    yard: Yard,
    logreg: Pipeline,
    forest: RandomForestClassifier,
    cancer: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = cancer
    yard.register(logreg, "cancer", sample=X)  # cancer@1: the primary
    yard.register(forest, "cancer", sample=X)  # cancer@2: its shadow
    yard.register(logreg, "cancer")  # cancer@3: no reference profile
    yard.create_endpoint(ENDPOINT, "cancer@1")
    yard.set_routes(
        ENDPOINT,
        [Route("cancer@1", 90), Route("cancer@3", 10), Route("cancer@2", 100, "shadow")],
    )
    signature = Signature.from_dict(yard.get_version("cancer@1").signature)
    now = START.timestamp()
    recorder = Recorder(yard, bucket_seconds=BUCKET, clock=lambda: now + BUCKET + 2)
    shifted = X.iloc[300:].copy()
    shifted["mean radius"] += X["mean radius"].max()
    ids: list[str] = []
    for i, frame in enumerate([X.iloc[:300], shifted]):
        at = now + i * BUCKET + 1
        columns = from_frame(signature, frame)
        output = Output(logreg.predict(frame), logreg.predict_proba(frame))
        batch = [uuid.uuid4().hex for _ in range(len(frame))]
        recorder.predicted(
            PredictionEvent(ENDPOINT, "cancer@1", columns, output, batch, 8.0 + 20 * i, at, 0.0)
        )
        ids += batch
        shadow_output = Output(forest.predict(frame), forest.predict_proba(frame))
        recorder.shadowed(
            ShadowEvent(
                endpoint=ENDPOINT,
                version="cancer@2",
                primary="cancer@1",
                rows=len(frame),
                primary_latency_ms=8.0 + 20 * i,
                at=at,
                outcome="compared",
                comparison=compare_outputs(output, shadow_output),
                prediction=PredictionEvent(
                    ENDPOINT,
                    shadow_label("cancer@2"),
                    columns,
                    shadow_output,
                    [f"{pid}~s" for pid in batch],
                    30.0 + i,
                    at,
                    0.0,
                ),
            )
        )
    small = X.iloc[:40]
    output = Output(logreg.predict(small), logreg.predict_proba(small))
    other = [uuid.uuid4().hex for _ in range(len(small))]
    recorder.predicted(
        PredictionEvent(
            ENDPOINT, "cancer@3", from_frame(signature, small), output, other, 5.0, now + 3, 0.0
        )
    )
    for status in (503, 422, 500):
        recorder.failed(ENDPOINT, "cancer@1", status)
    recorder.flush()
    yard.add_feedback(ENDPOINT, [(pid, str(int(y.iloc[i]))) for i, pid in enumerate(ids[:400])])
    yard.add_feedback(ENDPOINT, [(pid, str(int(y.iloc[i]))) for i, pid in enumerate(other[:20])])


def summary_of(yard: Yard, **options: Any) -> Any:
    return summarize(
        yard.monitor, ENDPOINT, START - timedelta(hours=1), START + timedelta(hours=1), **options
    )


def steady(value: Any) -> Any:
    """The summary's JSON with what depends on the wall clock (feedback lag) blanked."""
    if isinstance(value, dict):
        return {
            k: ("<lag>" if k == "lag_seconds_p50" and v is not None else steady(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [steady(v) for v in value]
    return value
