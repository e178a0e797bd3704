"""A real ``modelyard serve`` with ONNX models that take N-d tensors: an image classifier
(float32 [N, 3, 32, 32]) and a sequence model (int64 [N, T]). Over v1 (nested lists), v2
JSON (typed tensors), v2 binary tensors (``tritonclient.http``) and v2 gRPC
(``tritonclient.grpc``), both at their default settings, they answer what onnxruntime
answers; a wrong shape or datatype is refused naming the input."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from tests.integration.serving_fixtures import Server, free_port, running_server
from tests.kind_models import image_model, images, run_onnx, sequence_model, token_ids

from modelyard import Yard

pytestmark = pytest.mark.slow
pytest.importorskip("onnx")
triton_http = pytest.importorskip("tritonclient.http")
triton_grpc = pytest.importorskip("tritonclient.grpc")


@pytest.fixture(scope="module")
def models():  # type: ignore[no-untyped-def]
    return {"image": image_model(), "sequence": sequence_model()}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, models) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("tensors")
    with Yard(home) as yard:
        yard.register(models["image"], "digits", sample=images(8))
        yard.create_endpoint("digits-api", "digits@1")
        yard.register(models["sequence"], "seq", sample=token_ids(8, 6))
        yard.create_endpoint("seq-api", "seq@1")
    port = free_port()
    with running_server(home, "--dev", "--grpc-port", str(port)) as server:
        server.grpc = f"127.0.0.1:{port}"  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def client(served: Server) -> Iterator[httpx.Client]:
    with served.client() as c:
        yield c


def test_images_over_v1_nested_lists(client: httpx.Client, models) -> None:
    batch = images(3, seed=5)
    labels, probabilities = run_onnx(models["image"], {"image": batch})
    for body in ({"instances": batch.tolist()}, {"inputs": {"image": batch.tolist()}}):
        answer = client.post("/v1/endpoints/digits-api/predict", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == labels.tolist()
        np.testing.assert_allclose(answer.json()["probabilities"], probabilities, rtol=1e-6)


def test_images_over_v2_typed_tensors(client: httpx.Client, models) -> None:
    batch = images(2, seed=6)
    labels, probabilities = run_onnx(models["image"], {"image": batch})
    tensor = {
        "name": "image",
        "shape": list(batch.shape),
        "datatype": "FP32",
        "data": batch.ravel().tolist(),
    }
    answer = client.post("/v2/models/digits-api/infer", json={"inputs": [tensor]})
    assert answer.status_code == 200, answer.text
    outputs = {o["name"]: o for o in answer.json()["outputs"]}
    assert outputs["predict"]["data"] == labels.tolist()
    np.testing.assert_allclose(
        np.reshape(outputs["predict_proba"]["data"], (2, 10)), probabilities, rtol=1e-6
    )
    meta = client.get("/v2/models/digits-api").json()
    assert meta["inputs"] == [{"name": "image", "datatype": "FP32", "shape": [-1, 3, 32, 32]}]


def test_sequences_of_any_length_over_v1_and_v2(client: httpx.Client, models) -> None:
    for length in (2, 30):
        batch = token_ids(3, length, seed=length)
        labels, _ = run_onnx(models["sequence"], {"tokens": batch})
        v1 = client.post("/v1/endpoints/seq-api/predict", json={"instances": batch.tolist()})
        assert v1.status_code == 200, v1.text
        assert v1.json()["predictions"] == labels.tolist()
        tensor = {
            "name": "tokens",
            "shape": [3, length],
            "datatype": "INT64",
            "data": batch.tolist(),
        }
        v2 = client.post("/v2/models/seq-api/infer", json={"inputs": [tensor]})
        assert v2.status_code == 200, v2.text
        assert v2.json()["outputs"][0]["data"] == labels.tolist()


@pytest.mark.parametrize(
    ("endpoint", "body", "message"),
    [
        ("digits-api", {"instances": images(1)[:, :2].tolist()}, "the model takes [N, 3, 32, 32]"),
        ("seq-api", {"instances": [[1.5, 2.0]]}, "expected whole numbers (int64)"),
    ],
)
def test_v1_wrong_shape_or_dtype_is_422(client: httpx.Client, endpoint, body, message) -> None:
    answer = client.post(f"/v1/endpoints/{endpoint}/predict", json=body)
    assert answer.status_code == 422, answer.text
    assert message in answer.text


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        ({"shape": [1, 3, 32, 32], "datatype": "FP64"}, "datatype FP64, the model takes FP32"),
        ({"shape": [1, 3072], "datatype": "FP32"}, "shape [1, 3072], the model takes"),
        ({"shape": [1, 3, 16, 64], "datatype": "FP32"}, "shape [N, 3, 16, 64]"),
    ],
)
def test_v2_wrong_shape_or_datatype_is_422(client: httpx.Client, tensor, message) -> None:
    body = {"inputs": [{"name": "image", "data": [0.0] * 3072, **tensor}]}
    answer = client.post("/v2/models/digits-api/infer", json=body)
    assert answer.status_code == 422, answer.text
    assert message in answer.text


def _triton_inputs(lib, name: str, values: np.ndarray, datatype: str | None = None):  # type: ignore[no-untyped-def]
    tensor = lib.InferInput(
        name, list(values.shape), datatype or lib.np_to_triton_dtype(values.dtype)
    )
    tensor.set_data_from_numpy(values)  # binary data: tritonclient's default
    return [tensor]


@pytest.fixture(params=["http", "grpc"])
def triton(request: pytest.FixtureRequest, served: Server):  # type: ignore[no-untyped-def]
    """A tritonclient of each transport at its default settings."""
    if request.param == "http":
        return triton_http, triton_http.InferenceServerClient(served.url.removeprefix("http://"))
    return triton_grpc, triton_grpc.InferenceServerClient(served.grpc)  # type: ignore[attr-defined]


def test_images_over_binary_http_and_grpc(triton, models) -> None:  # type: ignore[no-untyped-def]
    lib, client = triton
    batch = images(4, seed=7)
    labels, probabilities = run_onnx(models["image"], {"image": batch})
    result = client.infer("digits-api", _triton_inputs(lib, "image", batch))
    np.testing.assert_array_equal(result.as_numpy("predict"), labels)
    np.testing.assert_allclose(result.as_numpy("predict_proba"), probabilities, rtol=1e-6)


def test_sequences_over_binary_http_and_grpc(triton, models) -> None:  # type: ignore[no-untyped-def]
    lib, client = triton
    for length in (3, 17):
        batch = token_ids(5, length, seed=length)
        labels, probabilities = run_onnx(models["sequence"], {"tokens": batch})
        result = client.infer("seq-api", _triton_inputs(lib, "tokens", batch))
        np.testing.assert_array_equal(result.as_numpy("predict"), labels)
        np.testing.assert_allclose(result.as_numpy("predict_proba"), probabilities, rtol=1e-6)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (images(1).astype(np.float64), "input 'image': datatype FP64, the model takes FP32"),
        (images(1).reshape(1, 3072), "input 'image': shape [1, 3072], the model takes"),
        (images(1).reshape(1, 3, 16, 64), "'image' in row 0: shape [N, 3, 16, 64], the model"),
    ],
)
def test_wrong_rank_or_dtype_over_binary_http_and_grpc(triton, values, message) -> None:  # type: ignore[no-untyped-def]
    lib, client = triton
    with pytest.raises(lib.InferenceServerException, match="'image'") as refused:
        client.infer("digits-api", _triton_inputs(lib, "image", values))
    assert message in refused.value.message()
    # what v2 JSON answers (422), and its gRPC counterpart
    assert str(refused.value.status()) in {"422", "StatusCode.INVALID_ARGUMENT"}
