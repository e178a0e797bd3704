"""Thin adapters for engines that bring their own cluster: Ray Data and Spark.

Each wraps :class:`~modelyard.batch.scoring.PartitionScorer` in the shape its engine calls:
a callable class for Ray Data's ``map_batches`` (an actor per worker, the model loaded in
its constructor) and a function over an iterator of frames for Spark's ``mapInPandas``.
What travels is a :class:`~modelyard.batch.partitions.ModelSpec` (the yard's settings, the
version, its file hashes), never the model: each worker process loads it once from the
artifact store, verified, as the Dask engine's workers do. Neither Ray nor Spark is imported
here; they call these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd

from modelyard.batch.partitions import ModelSpec, worker_model
from modelyard.batch.scoring import PartitionScorer


def _scorer(spec: ModelSpec, id_column: str | None, on_error: str) -> PartitionScorer:
    predictor, _ = worker_model(spec)
    return PartitionScorer(predictor, id_column=id_column, on_error=on_error)


class RayScorer:
    """``dataset.map_batches(RayScorer, fn_constructor_args=(spec,), batch_format="pandas",
    concurrency=N)``: one model per actor, a result frame per batch."""

    def __init__(self, spec: ModelSpec, id_column: str | None = None, on_error: str = "fail"):
        self.scorer = _scorer(spec, id_column, on_error)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return self.scorer.score(batch)


def spark_scorer(
    spec: ModelSpec, id_column: str | None = None, on_error: str = "fail"
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """``frame.mapInPandas(spark_scorer(spec), schema)``: the model loaded once per Python
    worker process (Spark reuses them across tasks), a result frame per Arrow batch."""

    def score(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        scorer = _scorer(spec, id_column, on_error)
        for frame in frames:
            yield scorer.score(frame)

    return score
