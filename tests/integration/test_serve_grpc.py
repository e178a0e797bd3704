"""``tritonclient.grpc`` at its default settings against ``modelyard serve --grpc-port``:
the same answers, keys, routing, monitoring and errors as v2 HTTP."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc as grpclib
import httpx
import numpy as np
import pandas as pd
import pytest
from tests.integration.fleet import wait_for
from tests.integration.models_for_serving import SlowClassifier
from tests.integration.serving_fixtures import Server, free_port, running_server
from tests.integration.tabular import churn_pipeline, customers, serve_mixed_and_cancer
from tests.logged_ids import logged_ids

from modelyard import Yard
from modelyard.domain.endpoints import Limits

pytestmark = pytest.mark.slow
client_lib = pytest.importorskip("tritonclient.grpc")
service_pb2 = pytest.importorskip("tritonclient.grpc.service_pb2")
service_pb2_grpc = pytest.importorskip("tritonclient.grpc.service_pb2_grpc")
InferenceServerException = client_lib.InferenceServerException


@pytest.fixture(scope="module")
def mixed():
    return churn_pipeline()


# Every test of a served model runs against both gRPC fronts (serving/grpc/server.py).
FRONTS = ["native", "grpcio"]
# The served fixture's MODELYARD_MAX_BODY_BYTES: past grpcio's default receive limit (4 MiB),
# so each front is seen to apply the setting, not a default of its own.
BODY_LIMIT = 8 * 1024 * 1024


def serving_front(server: Server, front: str) -> None:
    """The server says which front serves gRPC, and it is the one asked for."""
    wait_for(lambda: "gRPC on" in server.logs(), 20, "the gRPC port to open")
    assert f"({front} front)" in server.logs()


@pytest.fixture(scope="module", params=FRONTS)
def served(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    logreg,
    cancer,
    mixed,
) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("grpc")
    with Yard(home) as yard:
        serve_mixed_and_cancer(yard, mixed, logreg, cancer[0])
        slow = SlowClassifier(delay=0.5).fit(*cancer)
        yard.register(slow, "slow", sample=cancer[0], trust_types=True)
        yard.create_endpoint("slow-api", "slow@1", limits=Limits(max_batch=1, queue_rows=1))
    port = free_port()
    env = {"MODELYARD_GRPC_FRONT": request.param, "MODELYARD_MAX_BODY_BYTES": str(BODY_LIMIT)}
    with running_server(home, "--dev", "--grpc-port", str(port), env=env) as server:
        serving_front(server, request.param)
        server.grpc = f"127.0.0.1:{port}"  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def client(served: Server) -> client_lib.InferenceServerClient:
    return client_lib.InferenceServerClient(served.grpc)  # type: ignore[attr-defined]


def first_row(X: pd.DataFrame) -> client_lib.InferInput:
    """The frame's first row as one [1, F] FP64 tensor, as tritonclient sends it."""
    tensor = client_lib.InferInput("input-0", [1, X.shape[1]], "FP64")
    tensor.set_data_from_numpy(X.iloc[:1].to_numpy())
    return tensor


def feature_inputs(X: pd.DataFrame) -> list[client_lib.InferInput]:
    """One tensor per feature, set as tritonclient does by default (raw_input_contents)."""
    inputs = []
    for name in X.columns:
        column = X[name].to_numpy().reshape(-1, 1)
        datatype = (
            "BYTES" if column.dtype == object else client_lib.np_to_triton_dtype(column.dtype)
        )
        tensor = client_lib.InferInput(name, list(column.shape), datatype)
        tensor.set_data_from_numpy(column)
        inputs.append(tensor)
    return inputs


def test_health_and_metadata(client: client_lib.InferenceServerClient) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("mixed-api")
    assert client.get_server_metadata().name == "modelyard"
    metadata = client.get_model_metadata("mixed-api")
    assert [(i.name, i.datatype) for i in metadata.inputs] == [
        ("income", "FP64"),
        ("balance", "FP64"),
        ("visits", "FP64"),
        ("plan", "BYTES"),
    ]
    assert [o.name for o in metadata.outputs] == ["predict", "predict_proba"]
    assert metadata.versions == ["1"]


def test_a_tensor_per_feature_of_every_type_answers_as_the_model_does(
    client: client_lib.InferenceServerClient, mixed
) -> None:
    model, _ = mixed
    X = customers(9, 3)
    result = client.infer("mixed-api", feature_inputs(X))
    assert [p.decode() for p in result.as_numpy("predict")] == model.predict(X).tolist()
    np.testing.assert_allclose(result.as_numpy("predict_proba"), model.predict_proba(X), rtol=1e-12)
    ids = result.get_response().parameters["prediction_ids"].string_param.split(",")
    assert len(set(ids)) == 9


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_n_by_f_tensor(client, logreg, cancer, dtype) -> None:
    X, _ = cancer
    values = X.iloc[:5].to_numpy(dtype=dtype)
    tensor = client_lib.InferInput(
        "input-0", list(values.shape), client_lib.np_to_triton_dtype(dtype)
    )
    tensor.set_data_from_numpy(values)
    result = client.infer(
        "cancer-api", [tensor], outputs=[client_lib.InferRequestedOutput("predict")]
    )
    expected = pd.DataFrame(values.astype(np.float64), columns=X.columns)
    np.testing.assert_array_equal(result.as_numpy("predict"), logreg.predict(expected))
    assert result.as_numpy("predict_proba") is None  # not asked for


def typed_request(X: pd.DataFrame, **changes: object) -> object:
    """A request with typed contents (what tritonclient does not send; other clients do)."""
    request = service_pb2.ModelInferRequest(model_name="mixed-api", id="typed-1")
    for name, field in (
        ("income", "fp32_contents"),
        ("balance", "fp64_contents"),
        ("visits", "int64_contents"),
        ("plan", "bytes_contents"),
    ):
        tensor = request.inputs.add(name=name, shape=[len(X)])
        tensor.datatype = {"fp32_contents": "FP32", "fp64_contents": "FP64"}.get(
            field, "INT64" if field == "int64_contents" else "BYTES"
        )
        values = [v.encode() for v in X[name]] if name == "plan" else X[name].tolist()
        getattr(tensor.contents, field).extend(values)
    for key, value in changes.items():
        setattr(request, key, value)
    return request


@pytest.fixture
def stub(served: Server) -> Iterator[object]:
    with grpclib.insecure_channel(served.grpc) as channel:  # type: ignore[attr-defined]
        yield service_pb2_grpc.GRPCInferenceServiceStub(channel)


def test_typed_contents_answer_like_raw_ones(stub, mixed) -> None:
    model, _ = mixed
    X = customers(4, 4)
    response, call = stub.ModelInfer.with_call(
        typed_request(X, model_version="1"), metadata=(("x-request-id", "trace-7"),)
    )
    assert (response.id, response.model_version) == ("typed-1", "1")
    trailing = dict(call.trailing_metadata())
    assert trailing["x-modelyard-version"] == "mixed@1"
    assert trailing["x-request-id"] == "trace-7"
    result = client_lib.InferResult(response)
    assert [p.decode() for p in result.as_numpy("predict")] == model.predict(X).tolist()


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"model_name": "nope"}, grpclib.StatusCode.NOT_FOUND, "nope"),
        ({"model_version": "7"}, grpclib.StatusCode.NOT_FOUND, "serves version 1, not '7'"),
    ],
)
def test_unknown_models_and_versions_are_not_found(stub, change, code, words) -> None:
    with pytest.raises(grpclib.RpcError) as failed:
        stub.ModelInfer(typed_request(customers(2, 5), **change))
    assert failed.value.code() == code
    assert words in failed.value.details()


def test_bad_input_is_invalid_argument_naming_the_field(stub, client) -> None:
    request = typed_request(customers(2, 5))
    request.inputs[0].shape[:] = [3]  # 2 values for 3 elements
    with pytest.raises(grpclib.RpcError) as failed:
        stub.ModelInfer(request)
    assert failed.value.code() == grpclib.StatusCode.INVALID_ARGUMENT
    assert "input 'income': shape [3] needs 3 elements in contents.fp32_contents" in (
        failed.value.details()
    )
    wrong = client_lib.InferInput("plan", [1], "BYTES")
    wrong.set_data_from_numpy(np.array(["gold"], dtype=object))
    with pytest.raises(InferenceServerException) as refused:
        client.infer("mixed-api", [*feature_inputs(customers(1, 6))[:3], wrong])
    assert refused.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert "'plan'" in refused.value.message()


def test_a_message_under_the_body_limit_is_served_past_4_mib(client, logreg, cancer) -> None:
    X, _ = cancer
    rows = np.tile(X.to_numpy(), (5 * 1024 * 1024 // X.to_numpy().nbytes + 1, 1))
    assert 5 * 1024 * 1024 < rows.nbytes < BODY_LIMIT
    tensor = client_lib.InferInput("input-0", list(rows.shape), "FP64")
    tensor.set_data_from_numpy(rows)
    answer = client.infer("cancer-api", [tensor]).as_numpy("predict")
    expected = logreg.predict(pd.DataFrame(rows, columns=X.columns))
    assert answer.tolist() == expected.tolist()


def test_a_message_over_the_body_limit_is_resource_exhausted(client) -> None:
    columns = BODY_LIMIT // 8 + 1  # FP64: one element more than the limit's bytes hold
    tensor = client_lib.InferInput("input-0", [1, columns], "FP64")
    tensor.set_data_from_numpy(np.zeros((1, columns)))
    with pytest.raises(InferenceServerException) as refused:
        client.infer("cancer-api", [tensor])
    assert refused.value.status() == "StatusCode.RESOURCE_EXHAUSTED"
    assert client.is_server_live()  # the connection's next call is served


def test_a_triton_rpc_outside_the_protocol_is_unimplemented(client) -> None:
    with pytest.raises(InferenceServerException) as refused:
        client.get_model_config("mixed-api")
    assert refused.value.status() == "StatusCode.UNIMPLEMENTED"


def test_a_deadline_the_queued_work_cannot_meet_is_unavailable(served: Server, cancer) -> None:
    X, _ = cancer
    codes: list[object] = []

    def call(metadata: dict[str, str] | None = None) -> None:
        client = client_lib.InferenceServerClient(served.grpc)  # type: ignore[attr-defined]
        tensor = first_row(X)
        try:
            client.infer("slow-api", [tensor], headers=metadata)
            codes.append("OK")
        except InferenceServerException as exc:
            codes.append(exc.status())

    patient = [threading.Thread(target=call) for _ in range(2)]
    for thread in patient:
        thread.start()
    with served.client() as http:  # one in the model, one waiting
        while http.get("/api/endpoints/slow-api").json()["queued_rows"] < 1:
            time.sleep(0.02)
    # In gRPC metadata as in an HTTP header: 1 ms, which no queued work can meet.
    hurried = [
        threading.Thread(target=call, args=({"x-modelyard-deadline-ms": "1"},)) for _ in range(4)
    ]
    for thread in hurried:
        thread.start()
    for thread in [*patient, *hurried]:
        thread.join(timeout=60)
    assert sorted(map(str, codes)) == ["OK", "OK", *["StatusCode.UNAVAILABLE"] * 4]


def test_grpc_calls_are_counted_and_logged_like_http(served: Server, client) -> None:
    with served.client() as http:
        before = _metric(http.get("/metrics").text, SERVED_MIXED)
        result = client.infer("mixed-api", feature_inputs(customers(3, 7)))
        assert _metric(http.get("/metrics").text, SERVED_MIXED) - before == 1
    ids = set(result.get_response().parameters["prediction_ids"].string_param.split(","))
    # the prediction log is written in batches, about every second
    wait_for(lambda: ids <= _logged(served.home), 30, "the prediction log", step=0.3)
    assert ids <= _logged(served.home)


def _logged(home: Path) -> set[str]:
    with Yard(home) as yard:
        return logged_ids(yard)


def _metric(metrics: str, sample: str) -> float:
    """The value of the first sample of the Prometheus text that starts with ``sample``."""
    for row in metrics.splitlines():
        if row.startswith(sample):
            return float(row.rsplit(" ", 1)[1])
    return 0.0


SERVED_MIXED = 'modelyard_requests_total{endpoint="mixed-api",status="200",version="mixed@1"}'
IN_FLIGHT = "modelyard_in_flight_requests"


def cancer_home(tmp_path: Path, logreg, X: pd.DataFrame, *more_endpoints: str) -> Path:
    """A home serving ``logreg`` as ``cancer-api`` (and as each of ``more_endpoints``)."""
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(logreg, "cancer", sample=X)
        for endpoint in ("cancer-api", *more_endpoints):
            yard.create_endpoint(endpoint, "cancer@1")
    return home


@pytest.mark.parametrize("front", FRONTS)
def test_the_api_key_goes_in_metadata(tmp_path: Path, logreg, cancer, front: str) -> None:
    X, _ = cancer
    home = cancer_home(tmp_path, logreg, X, "other-api")
    with Yard(home) as yard:
        _, key = yard.create_key(["predict"], endpoint="cancer-api")
    port = free_port()
    env = {"MODELYARD_GRPC_FRONT": front}
    with running_server(home, "--grpc-port", str(port), env=env):
        client = client_lib.InferenceServerClient(f"127.0.0.1:{port}")
        tensor = first_row(X)
        with pytest.raises(InferenceServerException) as missing:
            client.infer("cancer-api", [tensor])
        assert missing.value.status() == "StatusCode.UNAUTHENTICATED"
        assert "API key is required" in missing.value.message()
        for headers in ({"x-api-key": key}, {"authorization": f"Bearer {key}"}):
            result = client.infer("cancer-api", [tensor], headers=headers)
            assert result.as_numpy("predict").tolist() == logreg.predict(X.iloc[:1]).tolist()
        with pytest.raises(InferenceServerException) as elsewhere:
            client.infer("other-api", [tensor], headers={"x-api-key": key})
        assert elsewhere.value.status() == "StatusCode.PERMISSION_DENIED"
        assert client.is_server_live()  # health needs no key, as on HTTP


@pytest.mark.parametrize("front", FRONTS)
def test_two_workers_share_the_grpc_port(tmp_path: Path, logreg, cancer, front: str) -> None:
    X, _ = cancer
    home = cancer_home(tmp_path, logreg, X)
    port = free_port()
    env = {"MODELYARD_GRPC_FRONT": front}
    args = ("--dev", "--workers", "2", "--grpc-port", str(port))
    with running_server(home, *args, env=env) as server:
        # each worker says so once its gRPC port is bound (the second may still be loading)
        wait_for(lambda: server.logs().count(f"({front} front)") == 2, 60, "both workers")
        client = client_lib.InferenceServerClient(f"127.0.0.1:{port}")
        tensor = first_row(X)
        for _ in range(10):
            assert client.infer("cancer-api", [tensor]).as_numpy("predict").tolist() == (
                logreg.predict(X.iloc[:1]).tolist()
            )


@pytest.mark.parametrize("front", FRONTS)
def test_sigterm_drains_grpc_with_http(tmp_path: Path, cancer, front: str) -> None:
    X, y = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(SlowClassifier(delay=1.0).fit(X, y), "slow", sample=X, trust_types=True)
        yard.create_endpoint("slow-api", "slow@1")
    port = free_port()
    results: list[object] = []
    env = {"MODELYARD_DRAIN_SECONDS": "1", "MODELYARD_GRPC_FRONT": front}
    with running_server(home, "--dev", "--grpc-port", str(port), env=env) as server:
        serving_front(server, front)
        client = client_lib.InferenceServerClient(f"127.0.0.1:{port}")
        tensor = first_row(X)

        def call() -> None:
            results.append(client.infer("slow-api", [tensor]).as_numpy("predict").tolist())

        in_flight = threading.Thread(target=call)
        in_flight.start()
        # SIGTERM once the call is in the server (a fixed sleep raced a loaded machine)
        wait_for(
            lambda: _metric(httpx.get(f"{server.url}/metrics").text, IN_FLIGHT) >= 1,
            20,
            "the call in flight",
        )
        os.killpg(server.process.pid, signal.SIGTERM)
        # draining: balancers stop sending
        wait_for(lambda: not client.is_server_ready(), 20, "readiness to turn false")
        in_flight.join(timeout=30)
        assert server.process.wait(timeout=30) == 0
    assert results == [[1]]
    with pytest.raises(InferenceServerException):
        client.is_server_live()
