"""The drift passes over parts: results merged in the parts' order are what one pass over the
table gives, whatever the parts' size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelyard.monitoring.passes import CATEGORICAL, NUMERIC, kind_of
from modelyard.monitoring.streaming import profile_table, sketch_table
from modelyard.monitoring.tables import open_table


def test_kinds_of_arrow_types() -> None:
    assert [kind_of(t) for t in (pa.int8(), pa.float32(), pa.null())] == [NUMERIC] * 3
    assert [kind_of(t) for t in (pa.bool_(), pa.string(), pa.timestamp("s"))] == [CATEGORICAL] * 3


@pytest.mark.parametrize("part_rows", [1_000, 2_500, 100_000])
def test_any_parts_give_one_pass_counts(tmp_path: Path, part_rows: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=10_000)
    x[::13] = np.nan
    data = pa.table({"x": x, "c": rng.choice(["a", "b", "c"], 10_000)})
    pq.write_table(data, tmp_path / "t.parquet", row_group_size=500)
    table = open_table(str(tmp_path / "t.parquet"))
    features, _ = profile_table(table, ["x", "c"], 20, part_rows=part_rows)
    whole, _ = profile_table(table, ["x", "c"], 20, part_rows=10_000)
    assert features == whole
    sketches, count = sketch_table(table, features, part_rows=part_rows)
    one, _ = sketch_table(table, features, part_rows=10_000)
    assert count == 10_000
    assert {n: s.to_json() for n, s in sketches.items()} == {n: s.to_json() for n, s in one.items()}
