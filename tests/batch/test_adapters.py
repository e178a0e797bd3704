"""The Ray Data and Spark adapters on real local clusters of each engine: the model is
loaded in their worker processes from a ModelSpec, and each row comes out once, scored."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard import SchemaMismatch, Yard
from modelyard.batch.adapters import RayScorer, spark_scorer
from modelyard.batch.partitions import ModelSpec, model_spec

pytestmark = pytest.mark.slow


@pytest.fixture
def spec(tmp_path: Path, logreg, cancer) -> Iterator[ModelSpec]:
    with Yard(tmp_path / "home") as yard:
        yard.register(logreg, "churn", sample=cancer[0])
        yard.set_alias("churn", "production", 1)
        yield model_spec(yard, "churn@production")


@pytest.fixture
def rows(cancer) -> pd.DataFrame:
    return cancer[0].assign(uid=np.arange(len(cancer[0])))


def _check(out: pd.DataFrame, logreg, cancer) -> None:
    out = out.sort_values("uid").reset_index(drop=True)
    assert out["uid"].tolist() == list(range(len(cancer[0])))
    assert out["prediction"].tolist() == logreg.predict(cancer[0]).tolist()
    np.testing.assert_allclose(out["probability_1"], logreg.predict_proba(cancer[0])[:, 1])


# Ray's own modules warn about their own settings (use_push_based_shuffle) on import.
@pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")
@pytest.mark.timeout(150)
def test_ray_data_map_batches(spec: ModelSpec, rows: pd.DataFrame, logreg, cancer) -> None:
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    # Logical CPUs: the actor holds one, reading and splitting the blocks need another.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        dataset = ray.data.from_pandas(rows).repartition(3)
        scored = dataset.map_batches(
            RayScorer,
            fn_constructor_args=(spec,),
            fn_constructor_kwargs={"id_column": "uid"},
            batch_format="pandas",
            batch_size=100,
            concurrency=1,
        )
        _check(scored.to_pandas(), logreg, cancer)
        bad = rows.astype({"mean radius": object})
        bad.loc[3, "mean radius"] = "oops"
        failing = ray.data.from_pandas(bad).map_batches(
            RayScorer, fn_constructor_args=(spec,), batch_format="pandas", concurrency=1
        )
        with pytest.raises(Exception, match="feature 'mean radius' in row 3"):
            failing.to_pandas()
    finally:
        ray.shutdown()


@pytest.mark.timeout(150)
# PySpark says it does not fully support pandas 3 yet; what mapInPandas uses works.
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_map_in_pandas(
    spec: ModelSpec, rows: pd.DataFrame, logreg, cancer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java is not on PATH)")
    from pyspark.sql import SparkSession

    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)  # workers in this environment
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    try:
        frame = spark.createDataFrame(rows).repartition(3)
        schema = "uid long, prediction long, probability_0 double, probability_1 double"
        scored = frame.mapInPandas(spark_scorer(spec, id_column="uid"), schema)
        # collect(), not toPandas(): PySpark's conversion passes pandas 3 a deprecated keyword.
        _check(pd.DataFrame([row.asDict() for row in scored.collect()]), logreg, cancer)
    finally:
        spark.stop()
    assert os.environ["PYSPARK_PYTHON"] == sys.executable


def test_a_bad_row_fails_the_scorer(spec: ModelSpec, rows: pd.DataFrame) -> None:
    bad = rows.astype({"mean radius": object})
    bad.loc[3, "mean radius"] = "oops"
    score = spark_scorer(spec)
    with pytest.raises(SchemaMismatch, match="row 3"):
        list(score(iter([bad])))
    skipped = list(spark_scorer(spec, on_error="skip")(iter([bad])))
    assert len(skipped[0]) == len(rows) - 1
