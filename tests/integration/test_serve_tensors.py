"""A real ``modelyard serve`` with ONNX models that take N-d tensors: an image classifier
(float32 [N, 3, 32, 32]) and a sequence model (int64 [N, T]). Over v1 (nested lists) and
v2 JSON (typed tensors) they answer what onnxruntime answers; a wrong shape or datatype is
a 422 naming the input."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from tests.integration.serving_fixtures import Server, running_server
from tests.kind_models import image_model, images, run_onnx, sequence_model, token_ids

from modelyard import Yard

pytestmark = pytest.mark.slow
pytest.importorskip("onnx")


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
    with running_server(home, "--dev") as server:
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
