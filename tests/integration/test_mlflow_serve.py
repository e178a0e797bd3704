"""MLflow-written models, imported with `modelyard import mlflow` and served by a real
`modelyard serve`, answer what MLflow's own loader predicts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from tests.cli.conftest import run_modelyard
from tests.flavors.mlflow_dirs import (
    Data,
    pyfunc_predict,
    save_colour_model,
    save_image_onnx,
    save_lightgbm_booster,
    save_onnx,
    save_sklearn,
    save_xgboost,
    small,
)
from tests.integration.serving_fixtures import Server, running_server
from tests.kind_models import images

from modelyard import Yard

pytestmark = pytest.mark.slow
pytest.importorskip("mlflow")

WRITERS = {
    "churn-sklearn": save_sklearn,
    "churn-xgboost": save_xgboost,
    "churn-onnx": save_onnx,
    "churn-lightgbm": save_lightgbm_booster,
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory, cancer: Data) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mlflow")
    written = {name: write(root / name, cancer) for name, write in WRITERS.items()}
    written["colours"] = save_colour_model(root / "colours")
    written["images"] = save_image_onnx(root / "images")  # a [-1, 3, 32, 32] tensor spec
    return written


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, folders: dict[str, Path]) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("home")
    for name, folder in folders.items():
        done = run_modelyard(
            "--home", str(home), "import", "mlflow", str(folder), "--alias", "live"
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"imported {name}@1"), done.stdout
    with Yard(home) as yard:
        for name in folders:
            yard.create_endpoint(f"{name}-api", f"{name}@live")
    with running_server(home, "--dev") as server:
        yield server


@pytest.fixture
def client(served: Server) -> Iterator[httpx.Client]:
    with served.client() as c:
        yield c


def _unseen(cancer: Data) -> pd.DataFrame:
    return small(cancer)[0].iloc[200:230]


@pytest.mark.parametrize("name", list(WRITERS))
def test_v1_answers_what_mlflow_predicts(
    client: httpx.Client, folders: dict[str, Path], cancer: Data, name: str
) -> None:
    rows = _unseen(cancer)
    if name == "churn-onnx":  # one float32 tensor: features are its columns f0…f4
        expected = pyfunc_predict(folders[name], rows.to_numpy(dtype=np.float32))
        rows = rows.set_axis([f"f{i}" for i in range(rows.shape[1])], axis=1)
    else:
        expected = pyfunc_predict(folders[name], rows)
    answer = client.post(
        f"/v1/endpoints/{name}-api/predict", json={"instances": rows.to_dict(orient="records")}
    )
    assert answer.status_code == 200, answer.text
    np.testing.assert_allclose(answer.json()["predictions"], expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["churn-sklearn", "churn-xgboost", "churn-onnx"])
def test_v2_answers_what_mlflow_predicts(
    client: httpx.Client, folders: dict[str, Path], cancer: Data, name: str
) -> None:
    rows = _unseen(cancer).to_numpy(dtype=np.float32)
    tensor = {"name": "input-0", "shape": list(rows.shape), "datatype": "FP32"}
    answer = client.post(
        f"/v2/models/{name}-api/infer", json={"inputs": [{**tensor, "data": rows.ravel().tolist()}]}
    )
    assert answer.status_code == 200, answer.text
    expected = pyfunc_predict(
        folders[name], rows if name == "churn-onnx" else _unseen(cancer).astype(np.float32)
    )
    np.testing.assert_array_equal(answer.json()["outputs"][0]["data"], expected)


def test_a_new_colour_is_answered_as_mlflow_answers_it(
    client: httpx.Client, folders: dict[str, Path]
) -> None:
    rows = pd.DataFrame({"colour": ["purple", "green", "red"], "size": [0.3, -1.2, 2.0]})
    answer = client.post(
        "/v1/endpoints/colours-api/predict", json={"instances": rows.to_dict(orient="records")}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == pyfunc_predict(folders["colours"], rows).tolist()


def test_the_imported_version_keeps_its_mlflow_record(served: Server) -> None:
    with Yard(served.home) as yard:
        version = yard.get_version("churn-xgboost@live")
    assert version.provenance["mlflow"]["flavor"] == "xgboost"
    assert version.provenance["mlflow"]["requirements"][-1] == "xgboost"


def test_an_image_model_with_an_nd_tensor_spec_answers_what_mlflow_predicts(
    client: httpx.Client, served: Server, folders: dict[str, Path]
) -> None:
    """Weights and all: mlflow.onnx keeps them in an external data file by default."""
    batch = images(5, seed=3)
    expected = pyfunc_predict(folders["images"], batch)
    v1 = client.post("/v1/endpoints/images-api/predict", json={"instances": batch.tolist()})
    assert v1.status_code == 200, v1.text
    assert v1.json()["predictions"] == expected.tolist()
    http = pytest.importorskip("tritonclient.http")
    tensor = http.InferInput("image", list(batch.shape), "FP32")
    tensor.set_data_from_numpy(batch)  # binary, tritonclient's default
    triton = http.InferenceServerClient(served.url.removeprefix("http://"))
    np.testing.assert_array_equal(
        triton.infer("images-api", [tensor]).as_numpy("predict"), expected
    )
    with Yard(served.home) as yard:
        [image] = yard.get_version("images@live").signature["inputs"]
    assert (image["kind"], image["dtype"], image["shape"]) == ("tensor", "float32", [3, 32, 32])
