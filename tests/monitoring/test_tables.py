"""A table cut into parts: runs of a Parquet file's row groups (a CSV file whole), each batch
read with its first row's position in its file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelyard.errors import InvalidInput
from modelyard.monitoring.tables import Part, open_table


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
