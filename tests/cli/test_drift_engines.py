"""``modelyard drift --engine dask``: the local engine's JSON from parts binned on Dask
workers (a scheduler given, or a LocalCluster of its own), ``s3://`` globs and partitioned
folders on a real moto server on both engines, and bad input as one line with exit 2 (drift
found is 1) whichever the engine or the store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import Invoke, assert_one_line_error
from tests.s3_server import CREDENTIALS

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("distributed")


def _frame(rows: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, rows),
            "n": rng.integers(0, 50, rows),
            "color": rng.choice(["red", "green", "blue"], rows),
        }
    )


def _days(write: Any, shift: float, seed: int) -> None:
    """Three days of 4,000 rows, row groups of 1,000 (12 parts at --part-rows 1000)."""
    for day in range(3):
        write(f"day={day}/p.parquet", _frame(4000, shift, seed + day))


def _local(folder: Path) -> Any:
    def write(name: str, frame: pd.DataFrame) -> None:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(folder / name, index=False, row_group_size=1000)

    return write


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    _days(_local(tmp_path / "ref"), 0.0, 0)
    _days(_local(tmp_path / "cur"), 0.6, 10)
    good = _frame(2000, 0.0, 1)
    good.assign(x=good["x"].astype(str)).to_parquet(tmp_path / "text.parquet", index=False)
    good.assign(z=1.0).to_parquet(tmp_path / "extra.parquet", index=False)
    good.drop(columns="color").to_parquet(tmp_path / "fewer.parquet", index=False)
    (tmp_path / "empty.parquet").write_bytes(b"")
    whole = (tmp_path / "ref" / "day=0" / "p.parquet").read_bytes()
    (tmp_path / "corrupt.parquet").write_bytes(whole[:-20])
    return {"ref": str(tmp_path / "ref"), "cur": str(tmp_path / "cur"), "tmp": str(tmp_path)}


def _json(result: Any) -> str:
    assert result.exit_code in (0, 1), result.output
    return str(result.stdout)


def test_dask_gives_the_local_json(cli: Invoke, files: dict[str, str], dask_cluster: Any) -> None:
    args = ("drift", "-r", files["ref"], "-c", files["cur"], "--json", "--part-rows", "1000")
    args += ("--drift-share", "0.3")  # x drifted: 1 of 3 columns is the dataset drifting
    local = cli(*args)
    assert local.exit_code == 1, local.output
    on_cluster = cli(*args, "--engine", "dask", "--scheduler", dask_cluster.scheduler_address)
    assert on_cluster.exit_code == 1
    assert _json(on_cluster) == _json(local)
    own_cluster = cli(*args, "--engine", "dask", "--workers", "1")  # a LocalCluster of its own
    assert _json(own_cluster) == _json(local)


@pytest.mark.parametrize(
    ("current", "message"),
    [
        ("text.parquet", "column 'x': numeric in the reference, large_string in the current"),
        ("extra.parquet", "column(s) 'z' missing from the reference data"),
        ("fewer.parquet", "column(s) 'color' missing from the current data"),
        ("empty.parquet", "empty.parquet: cannot read as parquet"),
        ("corrupt.parquet", "corrupt.parquet: cannot read as parquet"),
        ("nothing-*.parquet", "nothing-*.parquet: no file matches"),
    ],
)
def test_bad_input_on_the_dask_engine_exits_2(
    cli: Invoke, files: dict[str, str], dask_cluster: Any, current: str, message: str
) -> None:
    result = cli(
        "drift",
        *("-r", files["ref"], "-c", str(Path(files["tmp"]) / current)),
        *("--engine", "dask", "--scheduler", dask_cluster.scheduler_address),
    )
    assert_one_line_error(result, 2, message)


def test_engine_options_are_checked(cli: Invoke, files: dict[str, str]) -> None:
    base = ("drift", "-r", files["ref"], "-c", files["cur"])
    assert_one_line_error(cli(*base, "--engine", "spark"), 2, "--engine must be one of")
    assert_one_line_error(
        cli(*base, "--scheduler", "tcp://127.0.0.1:1"), 2, "--scheduler needs --engine dask"
    )
    assert_one_line_error(cli(*base, "--engine", "dask", "--exact"), 2, "use --engine local")
    unreachable = cli(
        *base, "--engine", "dask", "--scheduler", "tcp://127.0.0.1:1", "--connect-seconds", "1"
    )
    assert_one_line_error(unreachable, 7, "cannot reach the Dask scheduler at tcp://127.0.0.1:1")


@pytest.fixture
def bucket(s3_endpoint: str, dask_cluster: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Bucket ``drift-cli`` on the moto server with ``ref/`` and ``cur/day=N/`` folders."""
    import s3fs

    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with distributed.Client(dask_cluster.scheduler_address) as client:
        client.run(lambda: os.environ.update(env))  # credentials live on the workers
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    if not fs.exists("drift-cli"):
        fs.mkdir("drift-cli")
        for side, shift, seed in (("ref", 0.0, 0), ("cur", 0.6, 10)):

            def write(name: str, frame: pd.DataFrame, side: str = side) -> None:
                with fs.open(f"drift-cli/{side}/{name}", "wb") as out:
                    frame.to_parquet(out, index=False, row_group_size=1000)

            _days(write, shift, seed)
        fs.pipe_file("drift-cli/cur/_SUCCESS", b"")  # markers, not data: not read
        fs.pipe_file("drift-cli/cur/_metadata.parquet", b"not data")
        fs.pipe_file("drift-cli/bad/p.parquet", b"PAR1 not parquet")
    return "s3://drift-cli"


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_s3_globs_and_folders(
    cli: Invoke, files: dict[str, str], bucket: str, dask_cluster: Any, engine: str
) -> None:
    on = ["--engine", engine] + (
        ["--scheduler", dask_cluster.scheduler_address] * (engine == "dask")
    )
    expected = _json(cli("drift", "-r", files["ref"], "-c", files["cur"], "--json"))
    for ref, cur in (
        (f"{bucket}/ref/*/*.parquet", f"{bucket}/cur/"),
        (f"{bucket}/ref", f"{bucket}/cur/day=*/p.parquet"),
    ):
        assert _json(cli("drift", "-r", ref, "-c", cur, "--json", *on)) == expected, (ref, cur)
    nothing = cli("drift", "-r", f"{bucket}/ref", "-c", f"{bucket}/cur/*.csv", *on)
    assert_one_line_error(nothing, 2, f"{bucket}/cur/*.csv: no file matches")
    damaged = cli("drift", "-r", f"{bucket}/ref", "-c", f"{bucket}/bad/", *on)
    assert_one_line_error(damaged, 2, "p.parquet: cannot read as parquet")
