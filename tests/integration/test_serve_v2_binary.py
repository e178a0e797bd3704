"""``tritonclient.http`` at its default settings (binary tensors both ways) against a real
``modelyard serve``: the answers are the in-process model's."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import httpx
import numpy as np
import orjson
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from tests.integration.serving_fixtures import Server, running_server
from tests.integration.tabular import churn_pipeline, customers, serve_mixed_and_cancer

from modelyard import Yard

pytestmark = pytest.mark.slow
http = pytest.importorskip("tritonclient.http")


@pytest.fixture(scope="module")
def mixed() -> tuple[Pipeline, pd.DataFrame]:
    return churn_pipeline()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, logreg, cancer, mixed) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("binary")
    with Yard(home) as yard:
        serve_mixed_and_cancer(yard, mixed, logreg, cancer[0])
    with running_server(home, "--dev") as server:
        yield server


@pytest.fixture
def client(served: Server) -> http.InferenceServerClient:
    return http.InferenceServerClient(served.url.removeprefix("http://"))


def feature_inputs(X: pd.DataFrame) -> list[http.InferInput]:
    """One tensor per feature, each at tritonclient's default (binary) setting."""
    inputs = []
    for name in X.columns:
        column = X[name].to_numpy().reshape(-1, 1)
        tensor = http.InferInput(name, list(column.shape), _datatype(column))
        tensor.set_data_from_numpy(column)
        inputs.append(tensor)
    return inputs


def _datatype(values: np.ndarray) -> str:
    return "BYTES" if values.dtype == object else http.np_to_triton_dtype(values.dtype)


def test_the_server_says_it_speaks_binary_tensors(client: http.InferenceServerClient) -> None:
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]


def test_a_tensor_per_feature_of_every_type_answers_as_the_model_does(
    client: http.InferenceServerClient, mixed
) -> None:
    model, _ = mixed
    X = customers(7, 1)
    result = client.infer("mixed-api", feature_inputs(X))  # every output binary
    predictions = result.as_numpy("predict")
    assert predictions.dtype == object  # BYTES, as raw length-prefixed strings
    assert [p.decode() for p in predictions] == model.predict(X).tolist()
    np.testing.assert_allclose(result.as_numpy("predict_proba"), model.predict_proba(X), rtol=1e-12)
    assert result.get_output("predict_proba")["parameters"]["binary_data_size"] == 7 * 2 * 8


def test_outputs_come_as_json_where_not_asked_for_binary(
    client: http.InferenceServerClient, mixed
) -> None:
    model, _ = mixed
    X = customers(5, 2)
    result = client.infer(
        "mixed-api",
        feature_inputs(X),
        outputs=[
            http.InferRequestedOutput("predict", binary_data=False),
            http.InferRequestedOutput("predict_proba"),  # binary by default
        ],
    )
    assert result.get_output("predict")["data"] == model.predict(X).tolist()
    assert "data" not in result.get_output("predict_proba")
    np.testing.assert_allclose(result.as_numpy("predict_proba"), model.predict_proba(X), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_n_by_f_tensor(client: http.InferenceServerClient, logreg, cancer, dtype) -> None:
    X, _ = cancer
    values = X.iloc[:6].to_numpy(dtype=dtype)
    tensor = http.InferInput("input-0", list(values.shape), http.np_to_triton_dtype(values.dtype))
    tensor.set_data_from_numpy(values)
    result = client.infer("cancer-api", [tensor])
    # The model sees what the client sent, as the float64 values the signature takes.
    expected = pd.DataFrame(values.astype(np.float64), columns=X.columns)
    predictions = result.as_numpy("predict")
    assert predictions.dtype == np.int64
    np.testing.assert_array_equal(predictions, logreg.predict(expected))
    # (BLAS may round the last bit differently for another memory layout of the same rows)
    np.testing.assert_allclose(
        result.as_numpy("predict_proba"), logreg.predict_proba(expected), rtol=1e-12
    )


def _post(
    served: Server, header: dict[str, object], tail: bytes, length: int | None = None
) -> httpx.Response:
    head_bytes = orjson.dumps(header)
    declared = str(len(head_bytes) if length is None else length)
    return httpx.post(
        f"{served.url}/v2/models/cancer-api/infer",
        content=head_bytes + tail,
        headers={"Inference-Header-Content-Length": declared},
        timeout=30,
    )


def _one(datatype: str, shape: list[int], size: int) -> dict[str, object]:
    return {
        "inputs": [
            {
                "name": "input-0",
                "shape": shape,
                "datatype": datatype,
                "parameters": {"binary_data_size": size},
            }
        ]
    }


@pytest.mark.parametrize(
    ("header", "tail", "length", "rule"),
    [
        (_one("FP64", [1, 30], 240), bytes(240 + 8), None, "add up to 240"),
        (_one("FP64", [1, 30], 240), bytes(200), None, "goes past the end of the body"),
        (_one("FP64", [1, 30], 240), bytes(240), 10_000, "it must be from 1 to the body"),
        (_one("FP128", [1, 30], 240), bytes(240), None, "datatype 'FP128' cannot be read"),
        (_one("FP32", [1, 30], 240), bytes(240), None, "needs 120 bytes"),
        (_one("BYTES", [1, 30], 4), struct.pack("<I", 9), None, "BYTES element 0 says 9 bytes"),
    ],
)
def test_bad_binary_requests_are_400_naming_the_input_and_the_rule(
    served: Server, header, tail: bytes, length: int | None, rule: str
) -> None:
    response = _post(served, header, tail, length)
    assert response.status_code == 400, response.text
    assert rule in response.json()["error"]
    if "add up" not in rule and "body's" not in response.json()["error"]:
        assert "'input-0'" in response.json()["error"]


def test_a_binary_body_is_read_whatever_its_content_type(served: Server, logreg, cancer) -> None:
    """curl --data-binary and urllib label it form data; tritonclient sends no type."""
    row = cancer[0].iloc[:1].to_numpy(dtype="<f8")
    header = _one("FP64", [1, 30], row.nbytes)
    head = orjson.dumps(header)
    response = httpx.post(
        f"{served.url}/v2/models/cancer-api/infer",
        content=head + row.tobytes(),
        headers={
            "Inference-Header-Content-Length": str(len(head)),
            "Content-Type": "application/x-www-form-urlencoded",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    expected = logreg.predict(cancer[0].iloc[:1]).tolist()
    assert response.json()["outputs"][0]["data"] == expected


def test_binary_sizes_without_the_header_are_400(served: Server) -> None:
    response = httpx.post(
        f"{served.url}/v2/models/cancer-api/infer", json=_one("FP64", [1, 30], 240), timeout=30
    )
    assert response.status_code == 400, response.text
    assert (
        "input 'input-0' has parameters.binary_data_size but the request has no "
        in (response.json()["error"])
    )
