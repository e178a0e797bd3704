"""Planning a distributed job: files found by a glob or a folder, Parquet cut at row groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard import Conflict, InvalidInput, NotFound, SchemaMismatch, Yard
from modelyard.batch.partitions import check_output, plan
from modelyard.domain.signature import Signature
from tests.s3_server import CREDENTIALS


@pytest.fixture
def signature(sqlite_yard: Yard, logreg, cancer) -> Signature:
    sqlite_yard.register(logreg, "churn", sample=cancer[0])
    return Signature.from_dict(sqlite_yard.registry.get_version("churn@1").signature)


def test_row_groups_make_partitions_and_csv_files_one_each(
    signature: Signature, cancer, tmp_path: Path
) -> None:
    cancer[0].to_parquet(tmp_path / "a.parquet", row_group_size=100)  # 6 groups
    cancer[0].to_csv(tmp_path / "b.csv", index=False)
    (tmp_path / "_SUCCESS").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("skipped", encoding="utf-8")
    found = plan(str(tmp_path), signature, None, partition_rows=250)
    assert [(p.name, p.row_groups, p.start, p.rows) for p in found] == [
        ("a.parquet", (0, 1), 0, 200),
        ("a.parquet", (2, 3), 200, 200),
        ("a.parquet", (4, 5), 400, 169),
        ("b.csv", None, 0, None),
    ]
    assert [p.index for p in found] == [0, 1, 2, 3]
    assert [p.name for p in plan(str(tmp_path / "*.csv"), signature, None, 250)] == ["b.csv"]
    # A row group larger than a partition is one partition of its own.
    assert len(plan(str(tmp_path / "a.parquet"), signature, None, partition_rows=10)) == 6


def test_every_file_is_checked_before_any_task(
    signature: Signature, cancer, tmp_path: Path
) -> None:
    cancer[0].to_parquet(tmp_path / "a.parquet")
    cancer[0].drop(columns=["mean area"]).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(SchemaMismatch, match="mean area"):
        plan(str(tmp_path / "*.parquet"), signature, None, 1000)
    with pytest.raises(SchemaMismatch, match="id column 'uid'"):
        plan(str(tmp_path / "a.parquet"), signature, "uid", 1000)
    with pytest.raises(NotFound, match="no input file"):
        plan(str(tmp_path / "nothing-*.parquet"), signature, None, 1000)


def test_the_output_must_be_a_new_or_empty_folder(tmp_path: Path) -> None:
    check_output(str(tmp_path / "new"))
    (tmp_path / "empty").mkdir()
    check_output(str(tmp_path / "empty"))
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "part-00000.parquet").write_bytes(b"old")
    with pytest.raises(Conflict, match="already exists"):
        check_output(str(tmp_path / "used"))
    with pytest.raises(InvalidInput, match="folder of Parquet files"):
        check_output(str(tmp_path / "out.csv"))


def test_files_inside_hidden_or_temporary_folders_are_not_planned(
    signature: Signature, cancer, tmp_path: Path
) -> None:
    for folder in ("day=1", "_temporary/0/task_1", ".spark-staging-1/day=1", "day=1/.tmp"):
        (tmp_path / folder).mkdir(parents=True)
        cancer[0].to_parquet(tmp_path / folder / "part-0.parquet")
    for url in (str(tmp_path), str(tmp_path / "**" / "*.parquet")):
        found = plan(url, signature, None, partition_rows=10_000)
        assert [p.url for p in found] == [f"file://{tmp_path}/day=1/part-0.parquet"], url


@pytest.mark.slow
def test_hidden_folders_on_s3_are_not_planned(
    signature: Signature, cancer, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    for key, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(key, value)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.mkdir("plan-hidden")
    for folder in ("day=1", "_temporary/0/task_1", ".spark-staging-1/day=1"):
        with fs.open(f"plan-hidden/rows/{folder}/part-0.parquet", "wb") as out:
            cancer[0].to_parquet(out)
    for url in ("s3://plan-hidden/rows", "s3://plan-hidden/rows/**/*.parquet"):
        found = plan(url, signature, None, partition_rows=10_000)
        assert [p.url for p in found] == ["s3://plan-hidden/rows/day=1/part-0.parquet"], url
