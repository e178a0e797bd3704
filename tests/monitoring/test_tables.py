"""A table cut into parts: runs of a Parquet file's row groups (a CSV file whole), each batch
read with its first row's position in its file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelyard.errors import InvalidInput
from modelyard.monitoring.tables import Part, open_table
from tests.s3_server import CREDENTIALS


def test_parts_and_positions(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    pq.write_table(pa.table({"x": list(range(10))}), folder / "a.parquet", row_group_size=3)
    (folder / "b.csv").write_text("x\n1\n2\n")
    (folder / "_SUCCESS").write_text("")
    with pytest.raises(InvalidInput, match="the folder mixes csv, parquet"):
        open_table(str(folder))
    (folder / "b.csv").unlink()
    table = open_table(str(folder))
    assert table.rows == 10
    assert table.parts(6) == [Part(0, 0, 6, (0, 1)), Part(0, 6, 4, (2, 3))]
    read = [
        (start, batch.column(0).to_pylist())
        for start, batch in table.scan(table.parts(6)[1], ["x"], 2)
    ]
    assert read == [(6, [6, 7]), (8, [8, 9])]
    csv = tmp_path / "c.csv"
    csv.write_text("x\n1\n2\n")
    assert open_table(str(csv)).parts() == [Part(0, 0, None, None)]
    with pytest.raises(InvalidInput, match="at least 1 row"):
        table.parts(0)


def _with_unfinished_output(write: Callable[[str, pa.Table], None]) -> None:
    """One data file, and copies of it where Spark and Hadoop leave unfinished output."""
    rows = pa.table({"x": list(range(10))})
    write("t/day=1/part-0.parquet", rows)
    write("t/_temporary/0/_temporary/attempt_1/part-0.parquet", rows)
    write("t/.spark-staging-1/day=1/part-0.parquet", rows)
    write("t/day=1/.hidden/part-0.parquet", rows)


def test_files_inside_hidden_or_temporary_folders_are_not_read(tmp_path: Path) -> None:
    def write(name: str, rows: pa.Table) -> None:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(rows, tmp_path / name)

    _with_unfinished_output(write)
    assert open_table(str(tmp_path / "t")).rows == 10
    assert open_table(str(tmp_path / "t" / "**" / "*.parquet")).rows == 10
    # The folder the user names may itself start with "_": only the parts below count.
    (tmp_path / "t").rename(tmp_path / "_t")
    assert open_table(str(tmp_path / "_t")).rows == 10
    assert open_table(f"file://{tmp_path}/_t/*/*.parquet").rows == 10


@pytest.mark.slow
def test_hidden_folders_on_s3_are_not_read(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    for key, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(key, value)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.mkdir("tables-hidden")

    def write(name: str, rows: pa.Table) -> None:
        with fs.open(f"tables-hidden/{name}", "wb") as out:
            pq.write_table(rows, out)

    _with_unfinished_output(write)
    assert open_table("s3://tables-hidden/t").rows == 10
    assert open_table("s3://tables-hidden/t/").rows == 10
    assert open_table("s3://tables-hidden/t/**/*.parquet").rows == 10
