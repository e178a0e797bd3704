"""Batch scoring's file paths: CSV read with pyarrow, results written with pyarrow."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelyard import InvalidInput, SchemaMismatch, Yard
from modelyard.batch.local import score_file

CITIES = ["rome, italy", 'the "big" apple', "lima"]


def _frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": np.round(rng.normal(50, 10, rows), 3),
            "visits": rng.integers(0, 9, rows),
            "city": rng.choice(CITIES, rows),
        }
    )


@pytest.fixture(scope="module")
def mixed() -> tuple[Pipeline, pd.DataFrame]:
    """A model over numbers and text categories (commas and quotes in the categories); its
    encoder refuses cities it was not fitted on, so they are refused before it is called."""
    frame = _frame(300)
    labels = (frame["amount"] + 10 * (frame["city"] == "lima") > 55).astype(int)
    columns = ColumnTransformer(
        [
            ("n", StandardScaler(), ["amount", "visits"]),
            ("c", OneHotEncoder(handle_unknown="error"), ["city"]),
        ]
    )
    return make_pipeline(columns, LogisticRegression()).fit(frame, labels), frame


@pytest.fixture
def predictor(sqlite_yard: Yard, mixed):
    model, frame = mixed
    sqlite_yard.register(model, "mixed", sample=frame)
    return sqlite_yard.load("mixed@1")


def _rows(rows: int = 250) -> pd.DataFrame:
    """Rows to score: ids that look like numbers, and a note the model does not take."""
    frame = _frame(rows, seed=1)
    frame.insert(0, "uid", [f"{i:05d}" for i in range(rows)])
    frame["note"] = np.where(np.arange(rows) % 2, 'said "no", twice', "line one, line two")
    return frame


def test_csv_with_quoted_fields_and_commas_matches_the_model(
    predictor, mixed, tmp_path: Path
) -> None:
    rows = _rows()
    source, dest = tmp_path / "in.csv", tmp_path / "out.csv"
    rows.to_csv(source, index=False)
    report = score_file(predictor, source, dest, id_column="uid", chunk_rows=64)
    assert (report.rows_in, report.rows_out, report.skipped) == (250, 250, 0)
    out = pd.read_csv(dest, dtype={"uid": str})
    assert out["uid"].tolist() == rows["uid"].tolist()  # "00007" stays "00007"
    model = mixed[0]
    features = rows[["amount", "visits", "city"]]
    assert out["prediction"].tolist() == model.predict(features).tolist()
    np.testing.assert_allclose(out["probability_1"], model.predict_proba(features)[:, 1])


@pytest.mark.parametrize(
    ("source_name", "dest_name"), [("in.parquet", "out.csv"), ("in.csv", "out.parquet")]
)
def test_parquet_to_csv_and_back_keep_sensible_types(
    predictor, tmp_path: Path, source_name: str, dest_name: str
) -> None:
    rows = _rows(120).assign(uid=lambda f: "u" + f["uid"])
    source, dest = tmp_path / source_name, tmp_path / dest_name
    rows.to_parquet(source) if source_name.endswith("parquet") else rows.to_csv(source, index=False)
    score_file(predictor, source, dest, id_column="uid", chunk_rows=50)
    out = pd.read_parquet(dest) if dest_name.endswith("parquet") else pd.read_csv(dest)
    assert list(out.columns) == ["uid", "prediction", "probability_0", "probability_1"]
    assert pd.api.types.is_string_dtype(out["uid"])
    assert pd.api.types.is_integer_dtype(out["prediction"])
    assert pd.api.types.is_float_dtype(out["probability_0"])
    assert out["uid"].tolist() == rows["uid"].tolist()


def test_skip_drops_bad_rows_in_the_middle_of_a_chunk(predictor, mixed, tmp_path: Path) -> None:
    rows = _rows(300)
    text = rows.astype({"amount": object})
    text.loc[150, "amount"] = "twelve"
    text.loc[151, "city"] = "oslo"  # a category never seen in training
    text.loc[152, "visits"] = None
    source = tmp_path / "in.csv"
    text.to_csv(source, index=False)
    with pytest.raises(SchemaMismatch, match="row 150"):
        score_file(predictor, source, tmp_path / "fail.csv", chunk_rows=100)
    assert not list(tmp_path.glob("*fail.csv*"))  # nothing half-written is left behind
    dest = tmp_path / "out.csv"
    report = score_file(predictor, source, dest, id_column="uid", on_error="skip", chunk_rows=100)
    assert (report.rows_in, report.rows_out, report.skipped) == (300, 297, 3)
    assert [(p["row"], p["feature"]) for p in report.problems] == [
        (150, "amount"),
        (151, "city"),
        (152, "visits"),
    ]
    out = pd.read_csv(dest, dtype={"uid": str})
    kept = rows.drop(index=[150, 151, 152])
    assert out["uid"].tolist() == kept["uid"].tolist()
    features = kept[["amount", "visits", "city"]]
    assert out["prediction"].tolist() == mixed[0].predict(features).tolist()


def test_numbers_pandas_would_read_are_read(predictor, mixed, tmp_path: Path) -> None:
    """Spaces around a number, missing markers and an int column with a '3.0' in it."""
    source = tmp_path / "in.csv"
    source.write_text(
        "amount,visits,city\n 50.5 ,3.0,lima\n48,2,lima\nNA,1,lima\n", encoding="utf-8"
    )
    with pytest.raises(SchemaMismatch, match="feature 'amount' in row 2: null not allowed"):
        score_file(predictor, source, tmp_path / "out.csv")
    report = score_file(predictor, source, tmp_path / "out.csv", on_error="skip")
    assert (report.rows_out, report.skipped) == (2, 1)
    expected = mixed[0].predict(
        pd.DataFrame({"amount": [50.5, 48.0], "visits": [3, 2], "city": ["lima", "lima"]})
    )
    assert pd.read_csv(tmp_path / "out.csv")["prediction"].tolist() == expected.tolist()


@pytest.mark.parametrize("content", [b"", b"\n"])
def test_an_empty_file_is_refused(predictor, tmp_path: Path, content: bytes) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(content)
    with pytest.raises(InvalidInput, match=r"in\.csv: cannot read as csv: .*[Ee]mpty"):
        score_file(predictor, source, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("header", ["uid,amount,visits,city\n", "uid,amount,visits,city"])
@pytest.mark.parametrize("dest_name", ["out.csv", "out.parquet"])
def test_a_header_only_file_gives_the_columns_and_no_rows(
    predictor, tmp_path: Path, header: str, dest_name: str
) -> None:
    source, dest = tmp_path / "in.csv", tmp_path / dest_name
    source.write_text(header, encoding="utf-8")
    report = score_file(predictor, source, dest, id_column="uid")
    assert (report.rows_in, report.rows_out) == (0, 0)
    columns = ["uid", "prediction", "probability_0", "probability_1"]
    if dest_name.endswith("csv"):
        assert dest.read_text(encoding="utf-8").replace('"', "").strip() == ",".join(columns)
    else:
        assert pq.read_schema(dest).names == columns


def test_a_missing_column_is_named_before_any_row_is_scored(predictor, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    _rows(10).drop(columns=["visits"]).to_csv(source, index=False)
    with pytest.raises(SchemaMismatch, match="feature 'visits': missing feature"):
        score_file(predictor, source, tmp_path / "out.csv")
    source.write_text("amount,visits\n", encoding="utf-8")  # even with no rows at all
    with pytest.raises(SchemaMismatch, match="feature 'city': missing feature"):
        score_file(predictor, source, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_a_malformed_row_names_the_file(predictor, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("amount,visits,city\n1,2,lima\n1,2,lima,extra\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"in\.csv: cannot read as csv: .*Expected 3 columns"):
        score_file(predictor, source, tmp_path / "out.csv")
    # Past the first megabyte: found while the rows before it are being scored.
    _rows(100_000).drop(columns=["uid", "note"]).to_csv(source, index=False)
    with source.open("a", encoding="utf-8") as text:
        text.write("1,2,lima,extra\n")
    with pytest.raises(InvalidInput, match=r"in\.csv: cannot read as csv: .*Expected 3 columns"):
        score_file(predictor, source, tmp_path / "out.csv", chunk_rows=5000)
    assert not (tmp_path / "out.csv").exists()


def test_a_bool_column_is_read_cell_by_cell(sqlite_yard: Yard, tmp_path: Path) -> None:
    """pandas would read this column as text (one 'yes' in it) and refuse every row."""
    rng = np.random.default_rng(0)
    sample = pd.DataFrame({"flag": rng.random(60) > 0.5, "x": rng.normal(size=60)})
    model = LogisticRegression().fit(sample, sample["flag"] ^ (sample["x"] > 0))
    sqlite_yard.register(model, "flags", sample=sample)
    source = tmp_path / "in.csv"
    source.write_text("flag,x\nTrue,0.5\nfalse,1\nTRUE,2\nyes,1\n1,3\n", encoding="utf-8")
    report = score_file(sqlite_yard.load("flags@1"), source, tmp_path / "out.csv", on_error="skip")
    assert [(p["row"], p["rule"]) for p in report.problems] == [(3, "expected a number (bool)")]
    expected = model.predict(
        pd.DataFrame({"flag": [True, False, True, True], "x": [0.5, 1.0, 2.0, 3.0]})
    )
    assert pd.read_csv(tmp_path / "out.csv")["prediction"].tolist() == expected.tolist()
