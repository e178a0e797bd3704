"""Dataset versions: content-addressed data files with schema, profile and lineage."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from modelyard import IntegrityError, InvalidInput, NotFound, Yard


@pytest.fixture
def cancer_csv(tmp_path: Path, cancer) -> Path:
    path = tmp_path / "cancer.csv"
    cancer[0].to_csv(path, index=False)
    return path


@pytest.fixture
def cancer_parquet(tmp_path: Path, cancer) -> Path:
    path = tmp_path / "cancer.parquet"
    cancer[0].to_parquet(path, index=False)
    return path


def _blob(yard: Yard, sha256: str) -> Path:
    return Path(yard.stores.artifacts.root) / "blobs" / sha256[:2] / sha256


def test_add_csv_records_hash_size_rows_schema_profile(yard: Yard, cancer_csv, cancer) -> None:
    X, _ = cancer
    dv = yard.add_dataset(cancer_csv, "cancer", description="UCI breast cancer")
    data = cancer_csv.read_bytes()
    assert (dv.ref, dv.sha256, dv.size) == ("cancer@1", hashlib.sha256(data).hexdigest(), len(data))
    assert (dv.rows, dv.format, dv.source, dv.created_by) == (569, "csv", "cancer.csv", "tester")
    assert [c["name"] for c in dv.schema["columns"]] == list(X.columns)
    assert {c["kind"] for c in dv.schema["columns"]} == {"float"}
    radius = dv.profile["mean radius"]
    assert (radius["count"], radius["missing"]) == (569, 0)
    assert radius["min"] == pytest.approx(X["mean radius"].min())
    assert sum(radius["counts"]) == 569


def test_add_parquet(yard: Yard, cancer_parquet, cancer) -> None:
    dv = yard.add_dataset(cancer_parquet, "cancer-pq")
    assert (dv.format, dv.rows, dv.size) == ("parquet", 569, cancer_parquet.stat().st_size)
    assert dv.sha256 == hashlib.sha256(cancer_parquet.read_bytes()).hexdigest()
    assert set(dv.profile) == set(cancer[0].columns)
    assert yard.stores.artifacts.get_bytes(dv.sha256, "data") == cancer_parquet.read_bytes()


def test_categorical_columns_are_profiled_as_frequencies(yard: Yard, tmp_path: Path) -> None:
    path = tmp_path / "plans.csv"
    pd.DataFrame({"plan": ["basic", "pro", "basic", None], "n": [1, 2, 3, 4]}).to_csv(
        path, index=False
    )
    dv = yard.add_dataset(path, "plans")
    assert dv.profile["plan"]["frequencies"] == {"basic": 2, "pro": 1}
    assert dv.profile["plan"]["missing"] == 1
    assert [(c["name"], c["kind"]) for c in dv.schema["columns"]] == [
        ("plan", "open"),  # no model to refuse other plans: an open category
        ("n", "int"),
    ]


def test_same_bytes_are_the_same_version(yard: Yard, cancer_csv, tmp_path: Path) -> None:
    first = yard.add_dataset(cancer_csv, "cancer")
    copy = tmp_path / "copy.csv"
    copy.write_bytes(cancer_csv.read_bytes())
    again = yard.add_dataset(copy, "cancer")
    assert again == first
    assert [d.ref for d in yard.list_datasets()] == ["cancer@1"]
    assert len(yard.audit(action="dataset.add")) == 1


def test_changed_bytes_are_a_new_version(yard: Yard, cancer_csv, cancer) -> None:
    yard.add_dataset(cancer_csv, "cancer")
    cancer[0].iloc[:100].to_csv(cancer_csv, index=False)
    second = yard.add_dataset(cancer_csv, "cancer")
    assert (second.version, second.rows) == (2, 100)
    assert yard.get_dataset("cancer").version == 2
    assert yard.get_dataset("cancer@1").rows == 569
    assert [d.ref for d in yard.list_datasets()] == ["cancer@1", "cancer@2"]


def test_export_round_trips_bytes_exactly(yard: Yard, cancer_parquet, tmp_path: Path) -> None:
    yard.add_dataset(cancer_parquet, "cancer")
    out = tmp_path / "exports"
    out.mkdir()
    into_dir = yard.export_dataset("cancer@1", out)
    to_file = yard.export_dataset("cancer", tmp_path / "named.parquet")
    assert into_dir == out / "cancer-v1.parquet"
    assert into_dir.read_bytes() == cancer_parquet.read_bytes()
    assert to_file.read_bytes() == cancer_parquet.read_bytes()


def test_export_of_a_corrupted_blob_names_both_hashes(
    yard: Yard, cancer_csv, tmp_path: Path
) -> None:
    dv = yard.add_dataset(cancer_csv, "cancer")
    damaged = cancer_csv.read_bytes().replace(b"17.99", b"71.99", 1)
    _blob(yard, dv.sha256).write_bytes(damaged)
    found = hashlib.sha256(damaged).hexdigest()
    dest = tmp_path / "out.csv"
    with pytest.raises(
        IntegrityError,
        match=f"dataset cancer@1 is corrupted: expected sha256 {dv.sha256}, found {found}",
    ):
        yard.export_dataset("cancer@1", dest)
    assert not dest.exists()


def test_unsupported_extension(yard: Yard, tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidInput, match=r"data.txt: unsupported data format \.txt"):
        yard.add_dataset(path, "data")


def test_missing_file(yard: Yard, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"absent\.csv: no such file"):
        yard.add_dataset(tmp_path / "absent.csv", "data")


def test_garbage_parquet(yard: Yard, tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet at all" * 10)
    with pytest.raises(InvalidInput, match=r"broken\.parquet: cannot read as parquet"):
        yard.add_dataset(path, "data")
    assert yard.list_datasets() == []
    assert list(yard.stores.artifacts.list_blobs()) == []


def test_empty_csv(yard: Yard, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InvalidInput, match=r"empty\.csv: cannot read as csv"):
        yard.add_dataset(path, "data")


def test_bad_names_and_unknown_datasets(yard: Yard, cancer_csv) -> None:
    with pytest.raises(InvalidInput, match=r"invalid dataset name '\.\./x'"):
        yard.add_dataset(cancer_csv, "../x")
    with pytest.raises(NotFound, match="dataset 'cancer' not found"):
        yard.get_dataset("cancer")
    yard.add_dataset(cancer_csv, "cancer")
    with pytest.raises(NotFound, match="dataset cancer@2 not found"):
        yard.get_dataset("cancer@2")
    with pytest.raises(InvalidInput, match="not 'cancer@latest'"):
        yard.get_dataset("cancer@latest")


def test_register_links_datasets_and_lineage_shows_them(
    yard: Yard, cancer_csv, logreg, cancer
) -> None:
    X, _ = cancer
    dv = yard.add_dataset(cancer_csv, "cancer")
    with yard.start_run(experiment="churn") as run:
        run.log_param("C", 1.0)
        version = yard.register(logreg, "churn", sample=X.iloc[:20], datasets=[dv], run=run)
    assert version.datasets == ("cancer@1",)
    assert version.run_id == run.id
    lineage = yard.lineage("churn@1")
    assert lineage["version"]["ref"] == "churn@1"
    assert lineage["run"]["id"] == run.id
    assert lineage["run"]["params"] == {"C": "1.0"}
    assert lineage["datasets"] == [
        {
            "ref": "cancer@1",
            "sha256": dv.sha256,
            "rows": 569,
            "size": dv.size,
            "source": "cancer.csv",
        }
    ]
    assert set(lineage["code"]) == {"commit", "dirty", "branch"}
    assert lineage["code"]["commit"] == lineage["run"]["git"]["commit"]


def test_register_accepts_dataset_refs(yard: Yard, cancer_csv, logreg, cancer) -> None:
    X, _ = cancer
    yard.add_dataset(cancer_csv, "cancer")
    version = yard.register(logreg, "churn", sample=X.iloc[:20], datasets=["cancer"])
    assert version.datasets == ("cancer@1",)
    assert yard.lineage("churn")["run"] is None
    with pytest.raises(NotFound, match="dataset cancer@7 not found"):
        yard.register(logreg, "churn", sample=X.iloc[:20], datasets=["cancer@7"])
    assert [v.version for v in yard.list_versions("churn")] == [1]


def test_a_csv_with_only_a_header_is_refused_clearly(yard: Yard, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n")
    with pytest.raises(InvalidInput, match=r"empty\.csv has columns but no rows"):
        yard.add_dataset(empty, "empty")
