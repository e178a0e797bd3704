"""``modelyard predict``: the progress it is given and the errors it prints."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from modelyard import Yard
from modelyard.cli import batch
from tests.cli.conftest import Invoke, assert_one_line_error, run_modelyard


@pytest.fixture
def churn(tmp_path: Path, logreg, cancer) -> None:
    with Yard(tmp_path / "home") as yard:
        yard.register(logreg, "churn", sample=cancer[0])


def test_the_progress_gets_a_parquet_files_row_count(
    cli: Invoke, churn: None, tmp_path: Path, cancer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, int | None]] = []

    @contextmanager
    def recorded(description: str) -> Iterator[Callable[[int, int | None], None]]:
        assert description == "scoring with churn@1"
        yield lambda done, total: calls.append((done, total))

    monkeypatch.setattr(batch, "progress_rows", recorded)
    source = tmp_path / "rows.parquet"
    cancer[0].to_parquet(source)
    out = str(tmp_path / "out.csv")
    done = cli("predict", "churn@1", "-i", str(source), "-o", out, "--chunk-rows", "300")
    assert done.exit_code == 0, done.output
    assert calls == [(300, 569), (569, 569)]


def test_a_file_that_is_no_csv_is_one_line(cli: Invoke, churn: None, tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    source.write_bytes(b"")
    out = str(tmp_path / "out.csv")
    assert_one_line_error(
        cli("predict", "churn@1", "-i", str(source), "-o", out), 2, "Empty CSV file"
    )
    source.write_text("a,b\n1,2\n1,2,3\n", encoding="utf-8")
    assert_one_line_error(
        cli("predict", "churn@1", "-i", str(source), "-o", out), 2, "Expected 2 columns"
    )
    assert not Path(out).exists()


def test_unknown_engine_and_urls_on_the_local_engine_are_one_line(
    cli: Invoke, churn: None, tmp_path: Path
) -> None:
    source = str(tmp_path / "rows.parquet")
    assert_one_line_error(
        cli("predict", "churn@1", "-i", source, "-o", "o.parquet", "--engine", "spark"),
        2,
        "--engine must be one of local, dask",
    )
    assert_one_line_error(
        cli("predict", "churn@1", "-i", "s3://bucket/rows/*.parquet", "-o", "o.parquet"),
        2,
        "use --engine dask",
    )


@pytest.mark.slow
@pytest.mark.parametrize("on_error", ["skip", "fail"])
def test_dask_engine_on_its_own_local_cluster(
    churn: None, tmp_path: Path, cancer, on_error: str
) -> None:
    """The command as a user runs it: the LocalCluster's workers write to this terminal too,
    and a bad row is still one line (skip: a summary and the row)."""
    pytest.importorskip("distributed")
    X = cancer[0].assign(uid=range(len(cancer[0])))
    X["mean radius"] = X["mean radius"].astype(object)
    X.loc[3, "mean radius"] = "oops"
    source = tmp_path / "rows.csv"
    X.to_csv(source, index=False)
    out = tmp_path / "scored"
    done = run_modelyard(
        "--home", str(tmp_path / "home"), "predict", "churn@1", "-i", str(source),
        "-o", str(out), "--engine", "dask", "--workers", "1", "--id-column", "uid",
        "--on-error", on_error,
    )  # fmt: skip
    if on_error == "fail":
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            "error: rows.csv: feature 'mean radius' in row 3: expected a number (float)"
        ]
        assert not out.exists()
        return
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines() == [
        f"wrote 568 predictions to {out} (569 rows read, 1 skipped)",
        "  rows.csv row 3: mean radius: expected a number (float)",
    ]
    assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", "part-00000.parquet"]


@pytest.mark.slow
def test_an_unknown_scheduler_is_one_line_in_bounded_time(
    churn: None, tmp_path: Path, cancer
) -> None:
    pytest.importorskip("distributed")
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = tmp_path / "rows.parquet"
    cancer[0].to_parquet(source)
    started = time.monotonic()
    done = run_modelyard(
        "--home", str(tmp_path / "home"), "predict", "churn@1", "-i", str(source),
        "-o", str(tmp_path / "out"), "--engine", "dask",
        "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-seconds", "2",
    )  # fmt: skip
    assert time.monotonic() - started < 30
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines == [lines[0]]
    assert lines[0].startswith(f"error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert not (tmp_path / "out").exists()


def test_the_dask_engine_without_dask_says_how_to_install(churn: None, tmp_path: Path) -> None:
    source = tmp_path / "rows.parquet"
    source.write_bytes(b"")
    # This interpreter as one without Dask: importing it fails, as it would if not installed.
    code = (
        "import sys; sys.modules['distributed'] = None; sys.modules['dask'] = None; "
        "from modelyard.cli.app import main; main()"
    )
    done = subprocess.run(
        [
            sys.executable, "-c", code, "--home", str(tmp_path / "home"), "predict",
            "churn@1", "-i", str(source), "-o", str(tmp_path / "out"), "--engine", "dask",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: the dask engine needs Dask: pip install 'modelyard[dask]'"
    ]
