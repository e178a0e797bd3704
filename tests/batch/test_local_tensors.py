"""Batch scoring of a model that takes N-d tensors: Parquet list columns in, what
onnxruntime answers out; a ragged row is a reported bad row, CSV a one-line refusal."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard import InvalidInput, SchemaMismatch, Yard
from modelyard.batch.local import score_file
from tests.kind_models import image_model, images, run_onnx

pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return image_model()


@pytest.fixture
def predictor(sqlite_yard: Yard, model):  # type: ignore[no-untyped-def]
    sqlite_yard.register(model, "digits", sample=images(4))
    return sqlite_yard.load("digits@1")


@pytest.mark.parametrize("layout", ["nested", "flat"])
def test_list_columns_score_as_onnxruntime_answers(predictor, model, tmp_path: Path, layout):  # type: ignore[no-untyped-def]
    batch = images(7, seed=4)
    rows = [x.tolist() for x in batch] if layout == "nested" else list(batch.reshape(7, -1))
    pd.DataFrame({"image": rows, "id": range(7)}).to_parquet(tmp_path / "in.parquet")
    report = score_file(
        predictor, tmp_path / "in.parquet", tmp_path / "out.parquet", id_column="id", chunk_rows=3
    )
    assert (report.rows_in, report.rows_out, report.skipped) == (7, 7, 0)
    labels, probabilities = run_onnx(model, {"image": batch})
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out["prediction"].tolist() == labels.tolist()
    np.testing.assert_allclose(
        out[[f"probability_{k}" for k in range(10)]], probabilities, rtol=1e-6
    )


def test_a_row_of_the_wrong_shape_is_a_bad_row(predictor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [x.tolist() for x in images(3)]
    rows[1] = images(1)[0, :2].tolist()  # two channels, not three
    pd.DataFrame({"image": rows}).to_parquet(tmp_path / "in.parquet")
    with pytest.raises(SchemaMismatch, match=r"row 1.*shape \[N, 2, 32, 32\]"):
        score_file(predictor, tmp_path / "in.parquet", tmp_path / "out.parquet")
    report = score_file(
        predictor, tmp_path / "in.parquet", tmp_path / "skip.parquet", on_error="skip"
    )
    assert (report.rows_out, report.skipped) == (2, 1)


def test_csv_cannot_hold_tensors(predictor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "in.csv").write_text("image\n1.0\n")
    with pytest.raises(InvalidInput, match=r"takes tensors \(image \[N, 3, 32, 32\]\).*parquet"):
        score_file(predictor, tmp_path / "in.csv", tmp_path / "out.parquet")
