"""``modelyard drift`` streamed: a stored reference profile (a registered version's, a
dataset version's) as the reference, folders and globs, bad input as one line with exit 2
(drift found is 1), and a gate that imports neither pandas nor scipy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from modelyard import Yard
from tests.cli.conftest import Invoke, assert_one_line_error


def _json(result: Any) -> Any:
    assert result.exit_code in (0, 1), result.output
    return orjson.loads(result.stdout)


def _verdicts(report: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    return {f["feature"]: (f["verdict"], f["values"]) for f in report["features"]}


@pytest.fixture
def home(tmp_path: Path, logreg: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]) -> Path:
    """The yard the ``cli`` fixture opens: cancer@1 profiled from its whole sample, and the
    same rows as dataset ``train@1``."""
    X, _ = cancer
    X.to_parquet(tmp_path / "train.parquet", index=False)
    with Yard(tmp_path / "home", actor="tester") as yard:
        yard.register(logreg, "cancer", sample=X)
        yard.add_dataset(tmp_path / "train.parquet", "train")
    return tmp_path / "home"


def _shifted(cancer: tuple[pd.DataFrame, pd.Series], path: Path) -> Path:
    X, _ = cancer
    current = X.copy()
    for column in list(current.columns)[:20]:
        current[column] = current[column] * 1.5
    current.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("stored", ["cancer@1", "dataset:train@1"])
def test_a_stored_profile_is_the_reference_with_the_files_verdicts(
    cli: Invoke, home: Path, tmp_path: Path, cancer: tuple[pd.DataFrame, pd.Series], stored: str
) -> None:
    current = str(_shifted(cancer, tmp_path / "current.parquet"))
    from_file = _json(cli("drift", "-r", str(tmp_path / "train.parquet"), "-c", current, "--json"))
    result = cli("drift", "-r", stored, "-c", current, "--json")
    assert result.exit_code == 1, result.output  # 20 of 30 columns drifted
    assert _verdicts(_json(result)) == _verdicts(from_file)
    assert _json(result)["drifted_features"] == from_file["drifted_features"]
    assert len(from_file["drifted_features"]) == 20


def test_a_stored_profile_refuses_exact(cli: Invoke, home: Path, tmp_path: Path, cancer) -> None:
    current = str(_shifted(cancer, tmp_path / "current.parquet"))
    result = cli("drift", "-r", "cancer@1", "-c", current, "--exact")
    assert_one_line_error(result, 2, "a stored profile has only its bins")


def test_an_unknown_stored_reference_is_one_line(cli: Invoke, home: Path, tmp_path, cancer) -> None:
    current = str(_shifted(cancer, tmp_path / "current.parquet"))
    result = cli("drift", "-r", "nobody@production", "-c", current)
    assert result.exit_code not in (0, 1), result.output
    assert "nobody" in result.output


def _frame(rows: int, shift: float) -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(int(shift * 10))
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, rows),
            "n": rng.integers(0, 50, rows),
            "color": rng.choice(["red", "green", "blue"], rows),
        }
    )


@pytest.mark.parametrize(
    ("current", "message"),
    [
        ("text", "column 'x': numeric in the reference, large_string in the current data"),
        ("extra", "column(s) 'z' missing from the reference data"),
        ("empty", "empty.parquet: cannot read as parquet"),
        ("corrupt", "corrupt.parquet: cannot read as parquet"),
        ("nothing", "nothing-*.parquet: no file matches"),
    ],
)
def test_bad_input_exits_2_distinct_from_drift(
    cli: Invoke, tmp_path: Path, current: str, message: str
) -> None:
    reference = tmp_path / "ref.parquet"
    _frame(2000, 0.0).to_parquet(reference, index=False)
    good = _frame(2000, 0.0)
    good.assign(x=good["x"].astype(str)).to_parquet(tmp_path / "text.parquet", index=False)
    good.assign(z=1.0).to_parquet(tmp_path / "extra.parquet", index=False)
    (tmp_path / "empty.parquet").write_bytes(b"")
    (tmp_path / "corrupt.parquet").write_bytes(reference.read_bytes()[:-20])
    location = {
        "nothing": str(tmp_path / "nothing-*.parquet"),
    }.get(current, str(tmp_path / f"{current}.parquet"))
    assert_one_line_error(cli("drift", "-r", str(reference), "-c", location), 2, message)


def test_a_folder_of_files_is_one_table(cli: Invoke, tmp_path: Path) -> None:
    _frame(3000, 0.0).to_parquet(tmp_path / "ref.parquet", index=False)
    drifted = _frame(3000, 1.0)
    for day in range(3):
        part = tmp_path / "current" / f"day={day}"
        part.mkdir(parents=True)
        drifted.iloc[day * 1000 : (day + 1) * 1000].to_parquet(part / "p.parquet", index=False)
    whole = tmp_path / "whole.parquet"
    drifted.to_parquet(whole, index=False)
    by_folder = cli("drift", "-r", str(tmp_path / "ref.parquet"), "-c", str(tmp_path / "current"))
    assert by_folder.exit_code == 0, by_folder.output
    assert "1 of 3 features drifted" in by_folder.output
    args = ("drift", "-r", str(tmp_path / "ref.parquet"), "--json", "-c")
    expected = _verdicts(_json(cli(*args, str(whole))))
    assert _verdicts(_json(cli(*args, str(tmp_path / "current")))) == expected
    assert _verdicts(_json(cli(*args, str(tmp_path / "current" / "*" / "*.parquet")))) == expected


PROBE = """
import json, sys
sys.argv = ["modelyard", *sys.argv[1:]]
from modelyard.cli.app import main
try:
    main()
except SystemExit as exit:
    code = exit.code
watched = ("pandas", "scipy", "sklearn", "fsspec")
heavy = [m for m in watched if m in sys.modules]
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def test_the_binned_gate_imports_neither_pandas_nor_scipy(tmp_path: Path) -> None:
    _frame(2000, 0.0).to_parquet(tmp_path / "ref.parquet", index=False)
    current = _frame(2000, 1.0)
    current.loc[::10, "x"] = None  # nulls: filling them must not import pandas either
    current.to_csv(tmp_path / "cur.csv", index=False)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            "drift",
            *("-r", str(tmp_path / "ref.parquet")),
            *("-c", str(tmp_path / "cur.csv")),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    result = json.loads(done.stderr.strip().splitlines()[-1])
    assert result == {"code": 0, "heavy": []}, done.stdout
