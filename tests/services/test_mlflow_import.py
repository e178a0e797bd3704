"""``yard.import_mlflow``: a version with MLflow's signature, example and run, or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard import Yard
from modelyard.errors import SchemaMismatch
from tests.flavors.mlflow_dirs import (
    Data,
    colours,
    log_tracked_model,
    pyfunc_predict,
    save_colour_model,
    save_sklearn,
    small,
)

mlflow = pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory, cancer: Data) -> tuple[Path, str, Path]:
    return log_tracked_model(tmp_path_factory.mktemp("tracking") / "mlruns", cancer)


def test_a_model_from_a_tracking_folder_brings_its_run(
    yard: Yard, tracked: tuple[Path, str, Path]
) -> None:
    folder, run_id, _ = tracked
    version = yard.import_mlflow(folder, "churn")
    assert version.run_id == run_id
    run = yard.get_run(run_id)
    assert (run.experiment, run.name, run.status.value) == ("churn-models", "baseline", "finished")
    assert run.params == {"C": "1.0", "scaler": "standard"}
    assert run.metrics == {"auc": 0.95}
    assert run.provenance["mlflow"]["tags"]["team"] == "risk"
    assert version.tags["mlflow.run_id"] == run_id
    again = yard.import_mlflow(folder, "churn-copy")
    assert again.run_id == run_id
    assert len(yard.list_runs()) == 1


def test_the_name_defaults_to_the_logged_models(
    sqlite_yard: Yard, tracked: tuple[Path, str, Path]
) -> None:
    assert sqlite_yard.import_mlflow(tracked[0]).ref == "churn_model@1"


def test_a_refused_import_leaves_no_version_and_no_run(
    yard: Yard, tracked: tuple[Path, str, Path], tmp_path: Path
) -> None:
    import shutil

    folder, _, root = tracked
    broken = Path(shutil.copytree(root, tmp_path / "mlruns")) / folder.relative_to(root)
    example = json.loads((broken / "input_example.json").read_text())
    example["columns"][0] = "not a feature"
    (broken / "input_example.json").write_text(json.dumps(example))
    with pytest.raises(SchemaMismatch, match="missing mean radius; unknown not a feature"):
        yard.import_mlflow(broken, "churn")
    assert yard.list_models() == []
    assert yard.list_runs() == []


def test_the_example_is_the_reference_and_the_environment_is_recorded(
    sqlite_yard: Yard, cancer: Data, tmp_path: Path
) -> None:
    folder = save_sklearn(tmp_path / "churn", cancer)
    version = sqlite_yard.import_mlflow(folder, aliases=["production"])
    assert (version.ref, version.aliases) == ("churn@1", ("production",))
    assert sqlite_yard.profile(version.ref)["rows"] == 8
    assert version.provenance["mlflow"]["requirements"][-2:] == ["scikit-learn", "skops"]
    assert version.provenance["mlflow"]["model_uuid"] == version.tags["mlflow.model_uuid"]
    X, _ = small(cancer)
    np.testing.assert_array_equal(
        sqlite_yard.load("churn@production").predict(X), pyfunc_predict(folder, X)
    )


def test_a_string_column_stays_open_to_new_values(sqlite_yard: Yard, tmp_path: Path) -> None:
    folder = save_colour_model(tmp_path / "colours")
    version = sqlite_yard.import_mlflow(folder, "colours")
    colour = version.signature["inputs"][0]
    assert (colour["name"], colour["kind"], colour["categories"]) == ("colour", "open", None)
    unseen = pd.DataFrame({"colour": ["purple", "red"], "size": [0.5, -0.5]})
    np.testing.assert_array_equal(
        sqlite_yard.load("colours@1").predict(unseen), pyfunc_predict(folder, unseen)
    )
    assert colours()[0]["colour"].nunique() == 3  # purple was never seen in training


def test_a_model_under_the_runs_artifacts_finds_its_run_too(
    sqlite_yard: Yard, tracked: tuple[Path, str, Path], tmp_path: Path
) -> None:
    """MLflow 2 kept a logged model in ``<experiment>/<run>/artifacts/<path>``."""
    import shutil

    folder, run_id, root = tracked
    copied = Path(shutil.copytree(root, tmp_path / "mlruns"))
    experiment = copied / folder.relative_to(root).parts[0]
    model = Path(shutil.copytree(folder, experiment / run_id / "artifacts" / "model"))
    shutil.rmtree(experiment / "models")
    version = sqlite_yard.import_mlflow(model, "churn")
    assert version.run_id == run_id
    assert sqlite_yard.get_run(run_id).params["scaler"] == "standard"
