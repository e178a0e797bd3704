"""Streamed drift (``drift_tables``): the same verdicts as the in-memory ``drift_frames`` on
files written with pandas, partitioned folders and globs, bad input named, and memory that
stays bounded by the batch on a table many times its size (measured in a subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelyard.domain.monitoring import DriftConfig
from modelyard.errors import InvalidInput
from modelyard.monitoring.offline import drift_frames
from modelyard.monitoring.streaming import drift_tables
from modelyard.monitoring.tables import open_table


def _frame(seed: int, rows: int = 3000, shift: float = 0.0, pro: float = 0.3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(40 + 10 * shift, 10, size=rows)
    age[::97] = np.nan
    return pd.DataFrame(
        {
            "age": age,
            "visits": rng.poisson(4, size=rows),
            "plan": rng.choice(["basic", "pro"], p=[1 - pro, pro], size=rows),
            "active": rng.random(size=rows) < 0.5,
        }
    )


def _parquet(frame: pd.DataFrame, path: Path) -> str:
    frame.to_parquet(path, index=False)
    return str(path)


def _verdicts(report: object) -> dict[str, tuple[str, dict[str, float]]]:
    return {f.feature: (f.verdict, f.values) for f in report.features}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("shift", "pro"), [(0.0, 0.3), (0.5, 0.3), (0.5, 0.7), (0.05, 0.32)])
def test_streamed_values_and_verdicts_are_the_in_memory_ones(
    tmp_path: Path, shift: float, pro: float
) -> None:
    reference, current = _frame(0), _frame(1, shift=shift, pro=pro)
    expected = drift_frames(reference, current, DriftConfig())
    ref = open_table(_parquet(reference, tmp_path / "ref.parquet"))
    cur = open_table(_parquet(current, tmp_path / "cur.parquet"))
    streamed = drift_tables(ref, cur, DriftConfig(), rows=512)  # many batches merged
    assert _verdicts(streamed) == _verdicts(expected)
    assert streamed.verdict == expected.verdict


def test_a_reference_longer_than_its_sample_gives_the_same_verdicts(tmp_path: Path) -> None:
    reference, current = _frame(0, rows=40_000), _frame(1, rows=40_000, shift=0.3)
    expected = drift_frames(reference, current)
    ref = open_table(_parquet(reference, tmp_path / "ref.parquet"))
    cur = open_table(_parquet(current, tmp_path / "cur.parquet"))
    sampled = drift_tables(ref, cur, sample=5000, rows=4096)
    assert [f.feature for f in sampled.features] == [f.feature for f in expected.features]
    for mine, theirs in zip(sampled.features, expected.features, strict=True):
        assert mine.verdict == theirs.verdict, mine.feature
        assert mine.current_rows == theirs.current_rows
        if "ks" in theirs.values:
            assert mine.values["ks"] == pytest.approx(theirs.values["ks"], abs=0.02)


def test_exact_mode_matches_and_refuses_what_it_would_have_to_load(tmp_path: Path) -> None:
    reference, current = _frame(0), _frame(1, shift=0.2)
    ref = open_table(_parquet(reference, tmp_path / "ref.parquet"))
    cur = open_table(_parquet(current, tmp_path / "cur.parquet"))
    expected = drift_frames(reference, current, exact=True)
    assert _verdicts(drift_tables(ref, cur, exact=True)) == _verdicts(expected)
    with pytest.raises(InvalidInput, match=r"--exact would load column 'age' of the reference"):
        drift_tables(ref, cur, exact=True, sample=1000)


def test_a_partitioned_folder_a_glob_and_csv_read_as_one_table(tmp_path: Path) -> None:
    current = _frame(1, rows=6000, shift=0.5)
    folder = tmp_path / "current"
    for day in range(3):
        part = folder / f"day={day}"
        part.mkdir(parents=True)
        current.iloc[day * 2000 : (day + 1) * 2000].to_parquet(part / "part.parquet", index=False)
    csv = tmp_path / "current.csv"
    current.to_csv(csv, index=False)
    ref = open_table(_parquet(_frame(0), tmp_path / "ref.parquet"))
    expected = _verdicts(drift_frames(_frame(0), current))
    for location in (str(folder / "*" / "*.parquet"), str(csv)):
        assert _verdicts(drift_tables(ref, open_table(location))) == expected, location
    by_folder = drift_tables(ref, open_table(str(folder)), columns=["age", "plan"])
    assert [f.current_rows for f in by_folder.features] == [6000 - 62, 6000]


def _bad(tmp_path: Path) -> dict[str, str]:
    good = _frame(1)
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(Path(_parquet(good, tmp_path / "whole.parquet")).read_bytes()[:-12])
    folder = tmp_path / "parts"
    folder.mkdir()
    _parquet(good, folder / "a.parquet")
    (folder / "b.parquet").write_bytes(corrupt.read_bytes())
    return {
        "text": _parquet(good.assign(age=good["age"].astype(str)), tmp_path / "text.parquet"),
        "extra": _parquet(good.assign(score=1.0), tmp_path / "extra.parquet"),
        "fewer": _parquet(good.drop(columns="plan"), tmp_path / "fewer.parquet"),
        "empty": str(empty),
        "corrupt": str(corrupt),
        "folder": str(folder),
        "glob": str(tmp_path / "nothing-*.parquet"),
        "no rows": _parquet(good.iloc[:0], tmp_path / "norows.parquet"),
    }


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("text", r"column 'age': numeric in the reference, \w*string in the current data \(.*text"),
        ("extra", r"column\(s\) 'score' missing from the reference data \(.*ref.parquet\)"),
        ("fewer", r"column\(s\) 'plan' missing from the current data \(.*fewer.parquet\)"),
        ("empty", r"^empty.parquet: cannot read as parquet"),
        ("corrupt", r"^corrupt.parquet: cannot read as parquet"),
        ("folder", r"^b.parquet: cannot read as parquet"),
        ("glob", r"nothing-\*.parquet: no file matches"),
        ("no rows", r"the current data has no rows \(.*norows.parquet\)"),
    ],
)
def test_bad_input_is_named(tmp_path: Path, case: str, message: str) -> None:
    ref = open_table(_parquet(_frame(0), tmp_path / "ref.parquet"))
    with pytest.raises(InvalidInput, match=message) as caught:
        drift_tables(ref, open_table(_bad(tmp_path)[case]))
    assert "\n" not in str(caught.value)


def test_a_stored_profile_is_the_reference(tmp_path: Path) -> None:
    """What a registered version or a dataset version stores: the same features dict."""
    reference, current = _frame(0), _frame(1, shift=0.5)
    ref = open_table(_parquet(reference, tmp_path / "ref.parquet"))
    cur = open_table(_parquet(current, tmp_path / "cur.parquet"))
    from modelyard.monitoring.streaming import profile_table

    features, _ = profile_table(ref, list(reference.columns), 100)
    assert _verdicts(drift_tables(features, cur)) == _verdicts(drift_tables(ref, cur))
    with pytest.raises(InvalidInput, match="a stored profile has only its bins"):
        drift_tables(features, cur, exact=True)


MEASURE = """
import resource, sys
from modelyard.monitoring.streaming import drift_tables
from modelyard.monitoring.tables import open_table
ref, cur = open_table(sys.argv[1]), open_table(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = drift_tables(ref, cur, rows=16_384, sample=50_000)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, after, sum(f.current_rows for f in report.features))
"""


def _partitioned(folder: Path, files: int, rows: int, seed: int) -> int:
    """``files`` Parquet files of 4 float columns and a category; bytes in memory."""
    rng = np.random.default_rng(seed)
    for index in range(files):
        columns = {f"f{i}": rng.normal(i, 1.0, rows) for i in range(4)}
        columns["kind"] = rng.choice(["a", "b", "c"], rows).tolist()
        part = folder / f"part={index:03d}"
        part.mkdir(parents=True)
        pq.write_table(pa.table(columns), part / "data.parquet", row_group_size=16_384)
    return files * rows * 4 * 8


def test_memory_stays_bounded_by_the_batch_not_the_table(tmp_path: Path) -> None:
    table_bytes = _partitioned(tmp_path / "cur", files=24, rows=100_000, seed=1)
    _partitioned(tmp_path / "ref", files=24, rows=100_000, seed=0)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            MEASURE,
            str(tmp_path / "ref"),
            str(tmp_path / "cur"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    before, after, counted = (int(v) for v in result.stdout.split())
    assert counted == 5 * 2_400_000  # every row of every column was read
    grown = (after - before) * 1024  # ru_maxrss is in KiB on Linux
    # the table is 77 MB of floats; a batch is 16,384 rows (0.6 MB), the samples 1.6 MB
    assert grown < table_bytes / 3, (grown, table_bytes)


def test_an_fsspec_url_is_read_like_a_local_glob(tmp_path: Path) -> None:
    """``s3://`` goes through fsspec; its in-memory filesystem stands in for a bucket."""
    import fsspec

    memory = fsspec.filesystem("memory")
    current = _frame(1, shift=0.5)
    for index in range(2):
        part = current.iloc[index * 1500 : (index + 1) * 1500]
        with memory.open(f"/bucket/day-{index}.parquet", "wb") as sink:
            part.to_parquet(sink, index=False)
    ref = open_table(_parquet(_frame(0), tmp_path / "ref.parquet"))
    expected = _verdicts(drift_tables(ref, open_table(_parquet(current, tmp_path / "c.parquet"))))
    assert _verdicts(drift_tables(ref, open_table("memory://bucket/day-*.parquet"))) == expected
    assert _verdicts(drift_tables(ref, open_table("memory://bucket"))) == expected
    with pytest.raises(InvalidInput, match=r"memory://bucket/nope-\*\.parquet: no file matches"):
        open_table("memory://bucket/nope-*.parquet")
