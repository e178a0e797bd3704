from pathlib import Path

import numpy as np
import pytest

from modelyard import Conflict, SchemaMismatch, Yard
from modelyard.batch.local import score_file
from tests.batch.conftest import ENGINES, Engine, engine_for


@pytest.fixture
def predictor(sqlite_yard: Yard, logreg, cancer):
    sqlite_yard.register(logreg, "churn", sample=cancer[0])
    return sqlite_yard.load("churn@1")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, predictor, sqlite_yard: Yard) -> Engine:
    """The local engine, and the Dask engine on a LocalCluster: the same results."""
    return engine_for(request, sqlite_yard)


@pytest.mark.parametrize(
    ("source_name", "dest_name"), [("in.parquet", "out.parquet"), ("in.csv", "out.csv")]
)
def test_streams_in_chunks_and_matches_the_model(
    engine: Engine, logreg, cancer, tmp_path: Path, source_name: str, dest_name: str
) -> None:
    X = cancer[0].assign(user_id=np.arange(len(cancer[0])) + 1000)
    source, dest = tmp_path / source_name, tmp_path / dest_name
    if source_name.endswith("parquet"):
        X.to_parquet(source, row_group_size=100)  # the Dask engine: partitions of row groups
    else:
        X.to_csv(source, index=False)
    seen: list[int] = []
    report = engine.score(
        source,
        dest,
        id_column="user_id",
        chunk_rows=100,
        progress=lambda done, _total: seen.append(done),
    )
    if engine.name == "local":
        assert seen == [100, 200, 300, 400, 500, 569]
    assert (report.rows_in, report.rows_out, report.skipped) == (569, 569, 0)
    out = engine.read(dest)
    assert out["user_id"].astype(str).tolist() == X["user_id"].astype(str).tolist()
    assert out["prediction"].tolist() == logreg.predict(cancer[0]).tolist()
    np.testing.assert_allclose(out["probability_1"], logreg.predict_proba(cancer[0])[:, 1])


def test_bad_rows_fail_or_are_skipped_and_reported(engine: Engine, cancer, tmp_path: Path) -> None:
    X = cancer[0].copy()
    X["mean radius"] = X["mean radius"].astype(object)
    X.loc[3, "mean radius"] = "oops"
    X.loc[250, "mean texture"] = None
    source = tmp_path / "in.csv"
    X.to_csv(source, index=False)
    with pytest.raises(SchemaMismatch, match="row 3"):
        engine.score(source, tmp_path / "fail.parquet", chunk_rows=100)
    assert not engine.written(tmp_path / "fail.parquet").exists()
    report = engine.score(source, tmp_path / "skip.parquet", on_error="skip", chunk_rows=100)
    assert (report.rows_out, report.skipped) == (567, 2)
    assert [(p["row"], p["feature"]) for p in report.problems] == [
        (3, "mean radius"),
        (250, "mean texture"),
    ]
    assert len(engine.read(tmp_path / "skip.parquet")) == 567


def test_refuses_to_overwrite_and_checks_inputs(predictor, cancer, tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    cancer[0].to_parquet(source)
    existing = tmp_path / "out.parquet"
    existing.write_bytes(b"keep me")
    with pytest.raises(Conflict, match="already exists"):
        score_file(predictor, source, existing)
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(SchemaMismatch, match="id column 'nope'"):
        score_file(predictor, source, tmp_path / "o.parquet", id_column="nope")
    cancer[0].drop(columns=["mean area"]).to_parquet(tmp_path / "narrow.parquet")
    with pytest.raises(SchemaMismatch, match="mean area"):
        score_file(predictor, tmp_path / "narrow.parquet", tmp_path / "o2.parquet")


def test_extra_columns_are_ignored_and_text_ids_keep_their_type(
    engine: Engine, logreg, cancer, tmp_path: Path
) -> None:
    X = cancer[0].assign(
        target=cancer[1], uid=[str(i) if i < 300 else f"u{i}" for i in range(len(cancer[0]))]
    )
    source = tmp_path / "in.csv"
    X.to_csv(source, index=False)
    dest = tmp_path / "out.parquet"
    report = engine.score(source, dest, id_column="uid", chunk_rows=200)
    assert report.rows_out == len(X)
    out = engine.read(dest)
    assert out["uid"].iloc[[0, 299, 300]].tolist() == ["0", "299", "u300"]
    assert out["prediction"].tolist() == logreg.predict(cancer[0]).tolist()


@pytest.mark.parametrize(("source_name", "total"), [("in.parquet", 569), ("in.csv", None)])
def test_progress_knows_the_total_of_a_parquet_file(
    predictor, cancer, tmp_path: Path, source_name: str, total: int | None
) -> None:
    source = tmp_path / source_name
    if source_name.endswith("parquet"):
        # Several row groups: the total comes from the file's metadata, not the first one.
        cancer[0].to_parquet(source, row_group_size=150)
    else:
        cancer[0].to_csv(source, index=False)
    seen: list[tuple[int, int | None]] = []
    score_file(
        predictor,
        source,
        tmp_path / "out.parquet",
        chunk_rows=200,
        progress=lambda done, all_rows: seen.append((done, all_rows)),
    )
    assert seen == [(200, total), (400, total), (569, total)]
