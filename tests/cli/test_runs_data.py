from pathlib import Path

import orjson
import pytest

from modelyard import Yard
from tests.cli.conftest import Invoke, assert_one_line_error


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[str, str]:
    with Yard(tmp_path / "home") as yard:
        ids = []
        for c in (0.5, 1.0):
            with yard.start_run(experiment="churn") as run:
                run.log_params({"C": c, "penalty": "l2"})
                run.log_metric("auc", 0.9 + c / 100)
            ids.append(run.id)
    return ids[0], ids[1]


def test_runs_list_show_compare(cli: Invoke, two_runs: tuple[str, str]) -> None:
    first, second = two_runs
    listed = orjson.loads(cli("runs", "list", "--json").output)
    assert {r["id"] for r in listed} == {first, second}
    shown = orjson.loads(cli("runs", "show", first[:8], "--json").output)
    assert shown["params"] == {"C": "0.5", "penalty": "l2"}
    assert shown["status"] == "finished"
    compared = orjson.loads(cli("runs", "compare", first, second, "--json").output)
    differs = {r["key"]: r["differs"] for r in compared["rows"]}
    assert differs == {"C": True, "penalty": False, "auc": True}
    assert "2 of 3 differ" in cli("runs", "compare", first, second).output


def test_runs_bad_ids(cli: Invoke, two_runs: tuple[str, str]) -> None:
    assert_one_line_error(cli("runs", "show", "zz"), 2, "invalid run id")
    assert_one_line_error(cli("runs", "show", "0" * 32), 3, "not found")


def test_data_add_list_show_get(cli: Invoke, tmp_path: Path, cancer) -> None:
    source = tmp_path / "train.csv"
    cancer[0].to_csv(source, index=False)
    added = orjson.loads(cli("data", "add", str(source), "--name", "train", "--json").output)
    assert added["rows"] == len(cancer[0])
    assert [d["version"] for d in orjson.loads(cli("data", "list", "--json").output)] == [1]
    assert "mean radius" in cli("data", "show", "train@1").output
    out = tmp_path / "copy.csv"
    assert cli("data", "get", "train@1", "--out", str(out)).exit_code == 0
    assert out.read_bytes() == source.read_bytes()


def test_data_bad_input(cli: Invoke, tmp_path: Path) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    assert_one_line_error(cli("data", "add", str(broken), "--name", "x"), 2, "cannot read")
    assert_one_line_error(
        cli("data", "add", str(tmp_path / "none.csv"), "--name", "x"), 3, "no such file"
    )
    assert_one_line_error(cli("data", "get", "x@1", "--out", str(tmp_path)), 3, "not found")


def test_predict_command_scores_a_file(cli: Invoke, tmp_path: Path, logreg, cancer) -> None:
    import pandas as pd

    with Yard(tmp_path / "home") as yard:
        yard.register(logreg, "churn", sample=cancer[0])
    source, dest = tmp_path / "rows.csv", tmp_path / "scored.parquet"
    cancer[0].to_csv(source, index=False)
    done = cli(
        "predict",
        "churn@1",
        "--input",
        str(source),
        "--output",
        str(dest),
        "--chunk-rows",
        "200",
        "--json",
    )
    assert done.exit_code == 0, done.output
    assert orjson.loads(done.output)["rows_out"] == len(cancer[0])
    assert pd.read_parquet(dest)["prediction"].tolist() == logreg.predict(cancer[0]).tolist()
    assert_one_line_error(
        cli("predict", "churn@1", "--input", str(source), "--output", str(dest)),
        4,
        "already exists",
    )
