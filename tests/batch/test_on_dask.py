"""The Dask engine's own promises, on a LocalCluster of worker processes: S3 in and out
(a real moto server), a folder of Parquet parts, the model loaded once per worker, and a
worker killed mid-job whose partition Dask runs again without writing a row twice."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelyard import Conflict, NotFound, Yard
from modelyard.batch import partitions
from modelyard.batch.on_dask import score_dataset
from modelyard.batch.scoring import BatchReport
from tests.s3_server import CREDENTIALS

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("distributed")

AWS = CREDENTIALS


@pytest.fixture(scope="module")
def client(dask_cluster: Any) -> Iterator[Any]:
    with distributed.Client(dask_cluster.scheduler_address) as client:
        yield client


@pytest.fixture
def churn(tmp_path: Path, logreg, cancer) -> Iterator[Yard]:
    with Yard(tmp_path / "home") as yard:
        yard.register(logreg, "churn", sample=cancer[0])
        yield yard


def test_s3_in_and_out_with_the_artifacts_on_s3(
    s3_endpoint: str,
    client: Any,
    dask_cluster: Any,
    tmp_path: Path,
    logreg,
    cancer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import s3fs

    env = {**AWS, "AWS_ENDPOINT_URL": s3_endpoint}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # Credentials live on the workers (here: set in their environment), never in the job.
    client.run(lambda: os.environ.update(env))
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.mkdir("batch")
    X = cancer[0].assign(uid=np.arange(len(cancer[0])))
    for index, start in enumerate(range(0, len(X), 200)):
        with fs.open(f"batch/rows/part-{index}.parquet", "wb") as out:
            X.iloc[start : start + 200].to_parquet(out, row_group_size=100)
    with fs.open("batch/rows/notes.txt", "wb") as out:
        out.write(b"not matched by the glob")
    with Yard(tmp_path / "home", artifacts="s3://batch/yard") as yard:
        yard.register(logreg, "churn", sample=cancer[0])
        yard.set_alias("churn", "production", 1)
        report = score_dataset(
            yard,
            "churn@production",
            "s3://batch/rows/*.parquet",
            "s3://batch/scored/",
            id_column="uid",
            scheduler=dask_cluster.scheduler_address,
            partition_rows=100,
        )
    assert (report.rows_in, report.rows_out, report.skipped) == (569, 569, 0)
    fs.invalidate_cache()
    parts = sorted(p.rsplit("/", 1)[1] for p in fs.ls("batch/scored"))
    assert parts == ["_SUCCESS", *[f"part-{i:05d}.parquet" for i in range(6)]]
    out = pd.read_parquet("s3://batch/scored/", storage_options={"skip_instance_cache": True})
    assert sorted(out["uid"]) == list(range(len(X)))
    by_id = out.set_index("uid").sort_index()
    assert by_id["prediction"].tolist() == logreg.predict(cancer[0]).tolist()


def test_many_files_a_folder_out_and_problems_name_their_file(
    churn: Yard, dask_cluster: Any, client: Any, cancer, tmp_path: Path
) -> None:
    rows = tmp_path / "rows"
    rows.mkdir()
    X = cancer[0].copy()
    X.loc[305, "mean texture"] = np.nan
    X.iloc[300:].to_parquet(rows / "b.parquet", row_group_size=100)
    X["mean radius"] = X["mean radius"].astype(object)
    X.loc[5, "mean radius"] = "oops"
    X.iloc[:300].to_csv(rows / "a.csv", index=False)
    report = score_dataset(
        churn,
        "churn@1",
        str(rows),
        str(tmp_path / "out"),
        on_error="skip",
        scheduler=dask_cluster.scheduler_address,
        partition_rows=100,
    )
    assert (report.rows_in, report.rows_out, report.skipped) == (569, 567, 2)
    assert [(p["file"], p["row"]) for p in report.problems] == [("a.csv", 5), ("b.parquet", 5)]
    assert len(pd.read_parquet(tmp_path / "out")) == 567
    # Each worker loaded the model once, keyed by version and file hashes, and a second
    # job's tasks use the same object: nothing reloaded, nothing sent.
    version = churn.registry.get_version("churn@1")
    key = (version.ref, tuple((f.name, f.sha256) for f in version.files))

    def loaded() -> dict[str, int | None]:
        found = client.run(
            lambda: id(partitions._MODELS[key][0]) if key in partitions._MODELS else None
        )
        return {worker: object_id for worker, object_id in found.items() if object_id}

    first = loaded()
    assert first
    score_dataset(
        churn,
        "churn@1",
        str(rows / "b.parquet"),
        str(tmp_path / "again"),
        on_error="skip",
        scheduler=dask_cluster.scheduler_address,
        partition_rows=100,
    )
    assert {w: i for w, i in loaded().items() if w in first} == first


def test_refuses_a_used_output_folder_and_a_missing_input(
    churn: Yard, dask_cluster: Any, cancer, tmp_path: Path
) -> None:
    source = tmp_path / "in.parquet"
    cancer[0].to_parquet(source)
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("keep me", encoding="utf-8")
    address = dask_cluster.scheduler_address
    with pytest.raises(Conflict, match="already exists"):
        score_dataset(churn, "churn@1", str(source), str(used), scheduler=address)
    assert sorted(p.name for p in used.iterdir()) == ["keep.txt"]
    with pytest.raises(NotFound, match="no input file"):
        score_dataset(churn, "churn@1", str(tmp_path / "*.csv"), str(tmp_path / "o"))


def test_a_worker_killed_mid_job_leaves_each_row_once(
    churn: Yard, dask_cluster: Any, client: Any, cancer, tmp_path: Path
) -> None:
    copies = 60
    X = pd.concat([cancer[0]] * copies, ignore_index=True).assign(uid=lambda f: f.index)
    source = tmp_path / "in.parquet"
    X.to_parquet(source, row_group_size=1000)
    dest = tmp_path / "out"
    result: dict[str, Any] = {}

    def job() -> None:
        try:
            result["report"] = score_dataset(
                churn,
                "churn@1",
                str(source),
                str(dest),
                id_column="uid",
                chunk_rows=100,
                partition_rows=1000,
                scheduler=dask_cluster.scheduler_address,
            )
        except BaseException as exc:  # handed to the test's thread
            result["error"] = exc

    before = client.run(os.getpid)
    runner = threading.Thread(target=job)
    runner.start()
    deadline = time.monotonic() + 60
    victim = None
    while victim is None and time.monotonic() < deadline and runner.is_alive():
        busy = [w for w, tasks in client.processing().items() if tasks]
        if busy and any(dest.glob("part-*.parquet")):
            victim = busy[0]
        time.sleep(0.005)
    assert victim is not None, "the job ended before a worker was killed"
    assert runner.is_alive()
    written_at_kill = len(list(dest.glob("part-*.parquet")))
    os.kill(before[victim], signal.SIGKILL)
    runner.join(timeout=120)
    assert "error" not in result, result.get("error")
    report: BatchReport = result["report"]
    parts = int(np.ceil(len(X) / 1000))
    assert written_at_kill < parts
    assert (report.rows_in, report.rows_out) == (len(X), len(X))
    out = pd.read_parquet(dest)
    assert len(out) == len(X)
    assert out["uid"].is_unique
    assert sorted(out["uid"]) == list(range(len(X)))
    assert sorted(p.name for p in dest.iterdir()) == [
        "_SUCCESS",
        *[f"part-{i:05d}.parquet" for i in range(parts)],
    ]
