"""An MLflow run read from its tracking folder: names, statuses, metric points."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modelyard.errors import InvalidInput
from modelyard.services.mlflow_runs import experiment_name_for, find_run
from tests.flavors.mlflow_dirs import Data, log_tracked_model

pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory, cancer: Data) -> tuple[Path, str, Path]:
    return log_tracked_model(tmp_path_factory.mktemp("tracking") / "mlruns", cancer)


@pytest.fixture
def run_folder(tracked: tuple[Path, str, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the tracking folder: (the model's folder in it, the run's folder)."""
    folder, run_id, root = tracked
    copied = Path(shutil.copytree(root, tmp_path / "mlruns"))
    experiment = copied / folder.relative_to(root).parts[0]
    return copied / folder.relative_to(root), experiment / run_id


@pytest.mark.parametrize(
    ("mlflow_name", "ours"),
    [
        ("Churn Models", "churn-models"),
        ("/Users/ana@corp.com/churn", "users-ana-corp.com-churn"),
        ("Default", "default"),
        ("???", "mlflow"),
    ],
)
def test_experiment_names_become_modelyard_names(mlflow_name: str, ours: str) -> None:
    assert experiment_name_for(mlflow_name) == ours


def test_points_that_are_not_finite_are_left_out_and_counted(
    run_folder: tuple[Path, Path],
) -> None:
    model, run = run_folder
    with (run / "metrics" / "auc").open("a") as metric:
        metric.write("1796426748999 nan 2\n1796426749000 0.97 3\n")
    found = find_run(model, run.name)
    assert found is not None
    assert [(k, v, s) for k, v, s, _ in found.metrics] == [
        ("auc", 0.91, 0),
        ("auc", 0.95, 1),
        ("auc", 0.97, 3),
    ]
    assert found.provenance["mlflow"]["metric_points_not_finite"] == 1


def test_a_killed_run_is_failed_and_says_so(run_folder: tuple[Path, Path]) -> None:
    model, run = run_folder
    meta = (run / "meta.yaml").read_text().replace("status: 3", "status: 5")
    (run / "meta.yaml").write_text(meta)
    found = find_run(model, run.name)
    assert found is not None
    assert (found.status.value, found.error) == ("failed", "killed in MLflow")


def test_a_damaged_metric_file_is_named(run_folder: tuple[Path, Path]) -> None:
    model, run = run_folder
    (run / "metrics" / "auc").write_text("yesterday 0.9 0\n")
    with pytest.raises(InvalidInput, match="line 1 is not '<time> <value> <step>'"):
        find_run(model, run.name)


def test_a_model_outside_a_tracking_folder_has_no_run(tracked: tuple[Path, str, Path]) -> None:
    folder, run_id, _ = tracked
    assert find_run(folder, "0" * 32) is None
    assert find_run(folder, "../../etc") is None
    assert find_run(folder, run_id) is not None
