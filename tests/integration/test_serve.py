"""``modelyard serve`` as a real process: both protocols, validation, errors, metrics."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pandas as pd
import pytest
from tests.integration.models_for_serving import ExplodingRegressor, NanRegressor
from tests.integration.serving_fixtures import Server, running_server

from modelyard import Yard
from modelyard.domain.endpoints import Limits

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, logreg, cancer) -> Iterator[Server]:
    X, y = cancer
    home = tmp_path_factory.mktemp("served")
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=X)
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production")
        yard.register(NanRegressor().fit(X, y), "nan", sample=X, trust_types=True)
        yard.create_endpoint("nan-api", "nan@1")
        yard.register(ExplodingRegressor().fit(X, y), "boom", sample=X, trust_types=True)
        yard.create_endpoint("boom-api", "boom@1", limits=Limits(max_batch=1))
    with running_server(home, "--dev", env={"MODELYARD_MAX_BODY_BYTES": "65536"}) as server:
        yield server


@pytest.fixture
def client(served: Server) -> Iterator[httpx.Client]:
    with served.client() as c:
        yield c


def _records(X: pd.DataFrame, rows: int = 3) -> list[dict[str, float]]:
    return X.iloc[:rows].to_dict(orient="records")


def test_records_and_columns_give_the_models_answers(client: httpx.Client, logreg, cancer) -> None:
    X, _ = cancer
    by_records = client.post("/v1/endpoints/churn-api/predict", json={"instances": _records(X, 5)})
    assert by_records.status_code == 200, by_records.text
    body = by_records.json()
    assert body["predictions"] == logreg.predict(X.iloc[:5]).tolist()
    np.testing.assert_allclose(body["probabilities"], logreg.predict_proba(X.iloc[:5]))
    assert (body["model"], body["version"], len(body["prediction_ids"])) == ("churn", 1, 5)
    assert len(set(body["prediction_ids"])) == 5
    by_columns = client.post(
        "/v1/endpoints/churn-api/predict", json={"inputs": X.iloc[:5].to_dict(orient="list")}
    )
    assert by_columns.json()["predictions"] == body["predictions"]
    assert by_records.headers["x-modelyard-version"] == "churn@1"


def test_request_ids_are_honoured_and_made(client: httpx.Client, cancer) -> None:
    X, _ = cancer
    given = client.post(
        "/v1/endpoints/churn-api/predict",
        json={"instances": _records(X, 1)},
        headers={"X-Request-ID": "trace-42"},
    )
    assert given.headers["x-request-id"] == "trace-42"
    made = client.post("/v1/endpoints/churn-api/predict", json={"instances": []})
    assert len(made.headers["x-request-id"]) == 32
    assert made.json()["request_id"] == made.headers["x-request-id"]


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, "malformed_json"),
        (b"", {"content-type": "application/json"}, 400, "bad_request"),
        (b"\xff\xfe\x00", {"content-type": "application/json"}, 400, "malformed_json"),
        (b"[" * 5000 + b"]" * 5000, {"content-type": "application/json"}, 400, "malformed_json"),
        (b'{"instances": []}', {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (
            b'{"instances": [' + b'{"a": 1},' * 10000 + b'{"a": 1}]}',
            {"content-type": "application/json"},
            413,
            "payload_too_large",
        ),
        (b"[1, 2]", {"content-type": "application/json"}, 422, "schema"),
        (b'{"instances": [], "inputs": {}}', {"content-type": "application/json"}, 422, "schema"),
    ],
)
def test_malformed_requests_get_4xx(
    client: httpx.Client, content: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    response = client.post("/v1/endpoints/churn-api/predict", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_signature_problems_name_row_feature_and_rule(client: httpx.Client, cancer) -> None:
    X, _ = cancer
    rows = _records(X, 3)
    rows[0]["mean radius"] = "big"
    rows[1]["mean texture"] = None
    del rows[2]["mean area"]
    rows[2]["surprise"] = 1
    response = client.post("/v1/endpoints/churn-api/predict", json={"instances": rows})
    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    assert {"row": None, "feature": "surprise", "rule": "unknown feature"} in problems
    assert {"row": 0, "feature": "mean radius", "rule": "expected a number (float)"} in problems
    assert {"row": 1, "feature": "mean texture", "rule": "null not allowed"} in problems


def test_unknown_endpoint_and_wrong_method(client: httpx.Client) -> None:
    missing = client.post("/v1/endpoints/nope/predict", json={"instances": [{}]})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    wrong = client.get("/v1/endpoints/churn-api/predict")
    assert wrong.status_code == 405


def test_non_finite_model_output_is_a_documented_500(client: httpx.Client, cancer) -> None:
    X, _ = cancer
    response = client.post(
        "/v1/endpoints/nan-api/predict", json={"inputs": X.iloc[:2].to_dict(orient="list")}
    )
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "model_error"
    assert "non-finite" not in error["message"]  # the details are for operators
    recent = client.get("/api/endpoints/nan-api").json()["recent_errors"]
    assert recent[-1]["request_id"] == response.json()["request_id"]
    assert "non-finite" in recent[-1]["message"]


def test_a_raising_model_is_a_500_and_the_server_keeps_serving(
    client: httpx.Client, served: Server, cancer
) -> None:
    X, _ = cancer
    bad = X.iloc[:1].copy()
    bad.iloc[0, 0] = -1.0
    response = client.post(
        "/v1/endpoints/boom-api/predict", json={"inputs": bad.to_dict(orient="list")}
    )
    assert response.status_code == 500
    body = response.json()
    assert "boom" not in response.text  # a model's own words may name paths and data
    assert body["request_id"]
    assert body["error"]["code"] == "model_error"
    recent = client.get("/api/endpoints/boom-api").json()["recent_errors"]
    assert recent[-1]["request_id"] == body["request_id"]
    assert "boom: negative input" in recent[-1]["message"]
    log = served.logs()
    assert body["request_id"] in log
    assert "boom: negative input" in log
    fine = client.post(
        "/v1/endpoints/boom-api/predict", json={"inputs": X.iloc[:1].to_dict(orient="list")}
    )
    assert fine.status_code == 200


def test_health_and_metrics(client: httpx.Client, cancer) -> None:
    X, _ = cancer
    client.post("/v1/endpoints/churn-api/predict", json={"instances": _records(X, 2)})
    assert client.get("/health/live").json() == {"live": True}
    assert client.get("/health/ready").json()["ready"] is True
    metrics = client.get("/metrics").text
    for name in (
        "modelyard_requests_total",
        "modelyard_request_duration_seconds_bucket",
        "modelyard_batch_rows_bucket",
        "modelyard_queue_rows",
        "modelyard_model_load_seconds",
        "modelyard_in_flight_requests",
        "modelyard_process_resident_memory_bytes",
        "modelyard_model_memory_bytes",
    ):
        assert name in metrics
    assert 'modelyard_requests_total{endpoint="churn-api",status="200",version="churn@1"}' in (
        metrics
    )


def test_openapi_documents_the_inference_routes(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert "/v1/endpoints/{name}/predict" in spec["paths"]
    assert "/v2/models/{name}/infer" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_admin_status_of_an_endpoint(client: httpx.Client) -> None:
    status = client.get("/api/endpoints/churn-api").json()
    assert (status["serving"], status["load_error"]) == ("churn@1", None)
    assert client.get("/api/endpoints/nope").status_code == 404


def test_the_open_inference_protocol_with_a_real_v2_client(served: Server, logreg, cancer) -> None:
    tritonclient = pytest.importorskip("tritonclient.http")
    X, _ = cancer
    client = tritonclient.InferenceServerClient(served.url.removeprefix("http://"))
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("churn-api")
    metadata = client.get_model_metadata("churn-api")
    assert [o["name"] for o in metadata["outputs"]] == ["predict", "predict_proba"]
    tensor = tritonclient.InferInput("input-0", [4, 30], "FP64")
    tensor.set_data_from_numpy(X.iloc[:4].to_numpy(dtype="float64"), binary_data=False)
    result = client.infer(
        "churn-api",
        [tensor],
        outputs=[
            tritonclient.InferRequestedOutput("predict", binary_data=False),
            tritonclient.InferRequestedOutput("predict_proba", binary_data=False),
        ],
    )
    np.testing.assert_array_equal(result.as_numpy("predict"), logreg.predict(X.iloc[:4]))
    np.testing.assert_allclose(result.as_numpy("predict_proba"), logreg.predict_proba(X.iloc[:4]))
    with pytest.raises(tritonclient.InferenceServerException, match="not found"):
        client.get_model_metadata("nope")


def test_v2_per_feature_tensors_and_errors(client: httpx.Client, logreg, cancer) -> None:
    X, _ = cancer
    inputs = [
        {"name": name, "shape": [2], "datatype": "FP64", "data": X[name].iloc[:2].tolist()}
        for name in X.columns
    ]
    response = client.post("/v2/models/churn-api/infer", json={"id": "r1", "inputs": inputs})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "r1"
    assert body["outputs"][0]["data"] == logreg.predict(X.iloc[:2]).tolist()
    bad = client.post(
        "/v2/models/churn-api/infer",
        json={"inputs": [{"name": "x", "shape": [2, 30], "datatype": "FP64", "data": [1.0]}]},
    )
    assert bad.status_code == 422
    assert "needs 60 values" in bad.json()["error"]


def test_refusals_are_counted_without_growing_label_sets(client: httpx.Client) -> None:
    client.post("/v1/endpoints/no-such-endpoint-1/predict", json={"instances": [{}]})
    client.post("/v1/endpoints/no-such-endpoint-2/predict", json={"instances": [{}]})
    client.post(
        "/v1/endpoints/churn-api/predict",
        content=b"{",
        headers={"content-type": "application/json"},
    )
    metrics = client.get("/metrics").text
    unknown = 'modelyard_requests_total{endpoint="unknown",status="404",version=""} '
    [line] = [line for line in metrics.splitlines() if line.startswith(unknown)]
    assert float(line.removeprefix(unknown)) >= 2
    assert 'endpoint="churn-api",status="400"' in metrics
    assert "no-such-endpoint" not in metrics


def test_bools_are_not_numbers_for_numeric_features(client: httpx.Client, cancer) -> None:
    X, _ = cancer
    rows = _records(X, 1)
    rows[0]["mean radius"] = True
    response = client.post("/v1/endpoints/churn-api/predict", json={"instances": rows})
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["feature"] == "mean radius"


def test_trailing_slash_and_head(client: httpx.Client) -> None:
    slash = client.post("/v1/endpoints/churn-api/predict/", json={"instances": []})
    assert (slash.status_code, slash.json()["error"]["code"]) == (404, "not_found")
    assert client.head("/health/live").status_code == 200


def test_v2_versions_and_duplicate_tensors(client: httpx.Client, cancer) -> None:
    X, _ = cancer
    tensor = {"name": "input-0", "shape": [1, 30], "datatype": "FP64", "data": X.iloc[0].tolist()}
    assert (
        client.post("/v2/models/churn-api/versions/1/infer", json={"inputs": [tensor]}).status_code
        == 200
    )
    other = client.post("/v2/models/churn-api/versions/7/infer", json={"inputs": [tensor]})
    assert other.status_code == 404
    assert "serves version 1" in other.json()["error"]
    assert client.get("/v2/models/churn-api/versions/1/ready").status_code == 200
    column = {"name": "mean radius", "shape": [1], "datatype": "FP64", "data": [1.0]}
    twice = client.post("/v2/models/churn-api/infer", json={"inputs": [column, column]})
    assert twice.status_code == 422
    assert "more than once" in twice.json()["error"]
    assert twice.json()["code"] == "schema"


def test_api_docs_are_served_from_local_files(client: httpx.Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert (script.status_code, script.headers["content-type"].split(";")[0]) == (
        200,
        "text/javascript",
    )
    assert client.get("/docs/assets/..%2Fsecrets").status_code == 404
