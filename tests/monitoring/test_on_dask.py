"""The drift gate on Dask workers gives the local engine's report to the last digit —
partitioned folders, a reference longer than its sample, a stored profile, S3 on a real moto
server — and a file that fails on a worker is named in one line on the client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelyard.errors import InvalidInput
from modelyard.monitoring.on_dask import DaskEngine
from modelyard.monitoring.streaming import drift_tables, profile_table
from modelyard.monitoring.tables import open_table
from tests.s3_server import CREDENTIALS

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def engine(dask_cluster: Any) -> Iterator[DaskEngine]:
    with distributed.Client(dask_cluster.scheduler_address) as client:
        yield DaskEngine(client)


def _table(seed: int, rows: int, shift: float) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, rows)
    x[::41] = np.nan
    return pa.table(
        {
            "x": x,
            "n": rng.integers(0, 30, rows),
            "plan": rng.choice(["basic", "pro", "team"], rows, p=[0.5 - shift, 0.3 + shift, 0.2]),
        }
    )


def _folder(folder: Path, seed: int, shift: float, files: int = 3, rows: int = 12_000) -> str:
    for index in range(files):
        part = folder / f"day={index}"
        part.mkdir(parents=True)
        pq.write_table(_table(seed + index, rows, shift), part / "p.parquet", row_group_size=2_500)
    return str(folder)


@pytest.mark.parametrize("sample", [1_000_000, 4_000])  # whole; sampled, with a second pass
def test_the_dask_report_is_the_local_one(engine: DaskEngine, tmp_path: Path, sample: int) -> None:
    ref = open_table(_folder(tmp_path / "ref", 0, 0.0))
    cur = open_table(_folder(tmp_path / "cur", 10, 0.2))
    options: dict[str, Any] = {"sample": sample, "part_rows": 5_000, "rows": 1_024}
    local = drift_tables(ref, cur, **options)
    on_dask = drift_tables(ref, cur, engine=engine, **options)
    assert on_dask.to_json() == local.to_json()
    assert local.drifted_features == ["x", "plan"]
    # parts of another size: the same sample, so the same bins; the sums of the mean and
    # standard deviation (of a sampled column) are added in another order
    other = profile_table(ref, ["x"], 100, sample, part_rows=2_500, engine=engine)[0]["x"]
    one = profile_table(ref, ["x"], 100, sample, part_rows=12_000)[0]["x"]
    assert {**other, "mean": 0, "std": 0} == {**one, "mean": 0, "std": 0}
    assert (other["mean"], other["std"]) == pytest.approx((one["mean"], one["std"]), rel=1e-12)


def test_a_stored_profile_against_parts_on_workers(engine: DaskEngine, tmp_path: Path) -> None:
    ref = open_table(_folder(tmp_path / "ref", 0, 0.0))
    cur = open_table(_folder(tmp_path / "cur", 10, 0.2))
    features, _ = profile_table(ref, ["x", "n", "plan"], 100)
    local = drift_tables(features, cur, part_rows=5_000)
    assert drift_tables(features, cur, engine=engine, part_rows=5_000).to_json() == local.to_json()


def test_a_file_that_fails_on_a_worker_is_named_on_the_client(
    engine: DaskEngine, tmp_path: Path
) -> None:
    """A CSV's types come from its first block: text far down a numeric column fails only
    when a worker reaches it."""
    ref = tmp_path / "ref.parquet"
    pq.write_table(_table(0, 5_000, 0.0), ref)
    lines = ["x,n,plan", *(f"{i / 7},{i % 30},basic" for i in range(60_000)), "oops,1,basic"]
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidInput, match=r"^late.csv: cannot read as csv: .*oops") as caught:
        drift_tables(open_table(str(ref)), open_table(str(tmp_path / "late.csv")), engine=engine)
    assert "\n" not in str(caught.value)


@pytest.fixture
def bucket(
    s3_endpoint: str, engine: DaskEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Bucket ``drift`` on the moto server: ``ref/`` and ``cur/day=N/`` of Parquet files."""
    import s3fs

    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    engine.client.run(lambda: os.environ.update(env))  # workers hold their own credentials
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    if not fs.exists("drift"):
        fs.mkdir("drift")
        for side, seed, shift in (("ref", 0, 0.0), ("cur", 10, 0.2)):
            for index in range(2):
                with fs.open(f"drift/{side}/day={index}/p.parquet", "wb") as out:
                    pq.write_table(_table(seed + index, 6_000, shift), out, row_group_size=2_000)
        fs.pipe_file("drift/cur/_SUCCESS", b"")
    return "s3://drift"


def test_s3_globs_and_folders_on_both_engines(
    bucket: str, engine: DaskEngine, tmp_path: Path
) -> None:
    local_copy = tmp_path / "cur"
    for index in range(2):
        (local_copy / f"day={index}").mkdir(parents=True)
        pq.write_table(
            _table(10 + index, 6_000, 0.2),
            local_copy / f"day={index}" / "p.parquet",
            row_group_size=2_000,
        )
    ref = open_table(f"{bucket}/ref/*/*.parquet")
    expected = drift_tables(ref, open_table(str(local_copy)), part_rows=2_000).to_json()
    for location in (f"{bucket}/cur/", f"{bucket}/cur/day=*/*.parquet"):
        cur = open_table(location)
        assert drift_tables(ref, cur, part_rows=2_000).to_json() == expected, location
        assert drift_tables(ref, cur, part_rows=2_000, engine=engine).to_json() == expected
    with pytest.raises(InvalidInput, match=r"^s3://drift/nope/\*\.parquet: no file matches$"):
        open_table(f"{bucket}/nope/*.parquet")
