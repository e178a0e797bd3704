"""The engine-neutral partition scorer: what a Ray Data ``map_batches`` or a Spark
``mapInPandas`` function calls, a frame (or an Arrow table) in and a frame out."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from modelyard import InvalidInput, SchemaMismatch, Yard
from modelyard.batch.scoring import PartitionScorer


@pytest.fixture
def predictor(sqlite_yard: Yard, logreg, cancer):
    sqlite_yard.register(logreg, "churn", sample=cancer[0])
    return sqlite_yard.load("churn@1")


def test_a_frame_or_a_table_in_a_frame_out(predictor, logreg, cancer) -> None:
    X = cancer[0].iloc[:50].assign(uid=[f"u{i}" for i in range(50)])
    scorer = PartitionScorer(predictor, id_column="uid")
    for rows in (X, pa.Table.from_pandas(X, preserve_index=False)):
        out = scorer.score(rows)
        assert list(out.columns) == ["uid", "prediction", "probability_0", "probability_1"]
        assert out["uid"].tolist() == X["uid"].tolist()
        assert out["prediction"].tolist() == logreg.predict(cancer[0].iloc[:50]).tolist()
        np.testing.assert_allclose(
            out["probability_1"], logreg.predict_proba(cancer[0].iloc[:50])[:, 1]
        )


def test_bad_rows_fail_or_are_dropped(predictor, cancer) -> None:
    X = cancer[0].iloc[:20].copy()
    X["mean radius"] = X["mean radius"].astype(object)
    X.loc[7, "mean radius"] = "oops"
    with pytest.raises(SchemaMismatch, match="row 107"):
        PartitionScorer(predictor).score(X, start=100)
    out = PartitionScorer(predictor, on_error="skip").score(X)
    assert len(out) == 19
    every_row_bad = PartitionScorer(predictor, on_error="skip").score(X.iloc[[7]])
    assert list(every_row_bad.columns) == ["prediction", "probability_0", "probability_1"]
    assert len(every_row_bad) == 0


def test_missing_columns_and_a_wrong_mode_are_refused(predictor, cancer) -> None:
    with pytest.raises(SchemaMismatch, match="id column 'uid'"):
        PartitionScorer(predictor, id_column="uid").score(cancer[0])
    with pytest.raises(SchemaMismatch, match="mean area"):
        PartitionScorer(predictor).score(cancer[0].drop(columns=["mean area"]))
    with pytest.raises(InvalidInput, match="on_error must be"):
        PartitionScorer(predictor, on_error="ignore")
