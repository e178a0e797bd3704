"""``modelyard import mlflow``: one line for what is wrong, nothing stored; a version if not."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Invoke, assert_one_line_error
from tests.flavors.mlflow_dirs import Data, edit_mlmodel, log_tracked_model, save_sklearn

pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, cancer: Data) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mlflow")
    return {
        "skops": save_sklearn(root / "churn", cancer),
        "pickle": save_sklearn(root / "pickled", cancer, "cloudpickle"),
    }


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory, cancer: Data) -> tuple[Path, str, Path]:
    return log_tracked_model(tmp_path_factory.mktemp("tracking") / "mlruns", cancer)


def _sklearn(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["flavors"]["sklearn"].update(changes)


def test_an_import_registers_and_points_the_alias(cli: Invoke, written: dict[str, Path]) -> None:
    done = cli("import", "mlflow", str(written["skops"]), "--alias", "production", "--json")
    assert done.exit_code == 0, done.output
    version = json.loads(done.output)
    assert (version["name"], version["flavor"], version["aliases"]) == (
        "churn",
        "sklearn",
        ["production"],
    )
    shown = cli("import", "mlflow", str(written["skops"]), "--name", "churn")
    assert shown.output.strip() == "imported churn@2 (sklearn, 5 features)"


def test_a_pickle_needs_the_flag(cli: Invoke, written: dict[str, Path]) -> None:
    refused = cli("import", "mlflow", str(written["pickle"]))
    assert_one_line_error(refused, 5, "model.pkl is a cloudpickle file")
    trusted = cli("import", "mlflow", str(written["pickle"]), "--trust-pickle")
    assert trusted.output.strip() == "imported pickled@1 (sklearn, 5 features)"
    audit = json.loads(cli("audit", "--action", "register", "--json").output)
    assert audit[0]["details"]["trusted_pickle"] is True


@pytest.mark.parametrize(
    ("change", "code", "match"),
    [
        (_sklearn(pickled_model="../model.skops"), 2, "'../model.skops' points outside"),
        (_sklearn(pickled_model="/tmp/model.skops"), 2, "'/tmp/model.skops' points outside"),
        (_sklearn(pickled_model="missing.skops"), 3, "'missing.skops': no such file"),
        (lambda d: d.update(flavors={"h2o": {"data": "model.h2o"}}), 2, "unknown flavor h2o"),
        (lambda d: d.pop("flavors"), 2, "no 'flavors' mapping"),
    ],
    ids=["dot-dot", "absolute", "missing", "unknown", "no-flavors"],
)
def test_a_bad_mlmodel_is_one_line_and_stores_nothing(
    cli: Invoke,
    written: dict[str, Path],
    tmp_path: Path,
    change: Callable[[dict[str, Any]], None],
    code: int,
    match: str,
) -> None:
    folder = Path(shutil.copytree(written["skops"], tmp_path / "churn"))
    edit_mlmodel(folder, change)
    assert_one_line_error(cli("import", "mlflow", str(folder)), code, match)
    assert json.loads(cli("models", "list", "--json").output) == []


def test_malformed_yaml_and_no_mlmodel(
    cli: Invoke, written: dict[str, Path], tmp_path: Path
) -> None:
    folder = Path(shutil.copytree(written["skops"], tmp_path / "churn"))
    (folder / "MLmodel").write_text("flavors: {sklearn: [\n")
    assert_one_line_error(cli("import", "mlflow", str(folder)), 2, "malformed YAML at line")
    assert_one_line_error(cli("import", "mlflow", str(tmp_path)), 3, "no MLmodel file")
    assert json.loads(cli("models", "list", "--json").output) == []


def test_the_import_runs_where_mlflow_cannot_be_imported(
    written: dict[str, Path], tmp_path: Path
) -> None:
    blocked = (
        "import sys; sys.modules['mlflow'] = None; sys.argv = ['modelyard', *sys.argv[1:]]; "
        "from modelyard.cli.app import main; main()"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            blocked,
            "--home",
            str(tmp_path / "home"),
            "import",
            "mlflow",
            str(written["skops"]),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported churn@1 (sklearn, 5 features)"


def test_without_an_input_example_it_says_drift_is_off(
    cli: Invoke, written: dict[str, Path], tmp_path: Path
) -> None:
    folder = Path(shutil.copytree(written["skops"], tmp_path / "churn"))
    edit_mlmodel(folder, lambda d: d.pop("saved_input_example_info"))
    done = cli("import", "mlflow", str(folder))
    assert done.exit_code == 0, done.output
    assert done.output.splitlines() == [
        "imported churn@1 (sklearn, 5 features)",
        "warning: churn@1: no reference sample: drift cannot be computed (the MLflow model has "
        "no input example)",
    ]


def test_an_invalid_alias_is_refused_before_anything_is_stored(
    cli: Invoke, written: dict[str, Path]
) -> None:
    done = cli("import", "mlflow", str(written["skops"]), "--alias", "Prod!")
    assert_one_line_error(done, 2, "Prod!")
    assert json.loads(cli("models", "list", "--json").output) == []


def test_the_run_of_a_tracked_model_shows_its_mlflow_tags(
    cli: Invoke, tracked: tuple[Path, str, Path]
) -> None:
    folder, run_id, _ = tracked
    assert cli("import", "mlflow", str(folder)).exit_code == 0
    shown = cli("runs", "show", run_id)
    assert "tags (from MLflow)" in shown.output
    assert "team" in shown.output
    assert "risk" in shown.output
