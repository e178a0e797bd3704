"""Limits on callers against a real ``modelyard serve``: key and client rates, invalid keys,
connections, rows per request.

Rates are checked by counts, never by time: a limited caller's answers may not exceed the
burst plus the rate times the time the test itself measured.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
from tests.integration.raw_http import connect, drip, request_head
from tests.integration.serving_fixtures import Server, running_server

from modelyard import Yard
from modelyard.domain.endpoints import Limits

pytestmark = pytest.mark.slow


@dataclass
class Keyed:
    server: Server
    secrets: dict[str, str]

    def client(self, key: str | None, client_address: str) -> httpx.Client:
        """Calls as ``client_address``: the server trusts loopback's X-Forwarded-For, as it
        would a proxy's listed in MODELYARD_FORWARDED_ALLOW_IPS."""
        headers = {"X-Forwarded-For": client_address}
        if key is not None:
            headers["Authorization"] = f"Bearer {self.secrets.get(key, key)}"
        return self.server.client(headers=headers)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, logreg, cancer) -> Iterator[Keyed]:
    home = tmp_path_factory.mktemp("limits")
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=cancer[0])
        yard.create_endpoint("churn-api", "churn@1")
        yard.create_endpoint("small-api", "churn@1", limits=Limits(max_request_rows=64))
        yard.create_endpoint("capped-api", "churn@1", limits=Limits(max_request_rows=10))
        secrets = {
            name: yard.create_key(["predict"], **options)[1]  # type: ignore[arg-type]
            for name, options in {
                "limited": {"rate_limit": 20, "rate_burst": 20},
                "free": {},
                "known": {},
                "unseen": {},
                "rows": {},
            }.items()
        }
    with running_server(home) as server:
        yield Keyed(server, secrets)


def _row(X) -> dict[str, list[dict[str, float]]]:
    return {"instances": X.iloc[:1].to_dict(orient="records")}


def _refused(client: httpx.Client, limit: str) -> int:
    text = client.get("/metrics").text
    found = re.search(rf'^modelyard_refused_total{{limit="{limit}"}} (\S+)$', text, re.M)
    assert found, text
    return int(float(found.group(1)))


def test_a_key_past_its_rate_gets_429_with_retry_after(keyed: Keyed, cancer) -> None:
    X, _ = cancer
    with keyed.client("limited", "192.0.2.10") as client:
        started = time.monotonic()
        answers = [client.post("/v1/endpoints/churn-api/predict", json=_row(X)) for _ in range(200)]
        elapsed = time.monotonic() - started
        counted = _refused(client, "key_rate")
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) == {200, 429}
    assert 20 <= statuses[200] <= 20 + 20 * elapsed + 1
    refused = [r for r in answers if r.status_code == 429]
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    error = refused[0].json()
    assert error["error"]["code"] == "rate_limited"
    assert "rate limit of 20 requests/s with a burst of 20" in error["error"]["message"]
    assert error["request_id"] == refused[0].headers["x-request-id"]
    assert counted >= len(refused)
    with keyed.client("free", "192.0.2.10") as client:  # other keys are not held back
        assert {
            client.post("/v1/endpoints/churn-api/predict", json=_row(X)).status_code
            for _ in range(50)
        } == {200}


def test_invalid_keys_are_throttled_per_client_before_any_lookup(keyed: Keyed, cancer) -> None:
    X, _ = cancer
    predict = "/v1/endpoints/churn-api/predict"
    with keyed.client("known", "198.51.100.7") as client:  # worked before the guessing
        assert client.post(predict, json=_row(X)).status_code == 200
    started = time.monotonic()
    answers = []
    for guess in range(60):
        with keyed.client(f"myk_{guess:012x}_guess", "198.51.100.7") as client:
            answers.append(client.post(predict, json=_row(X)))
    elapsed = time.monotonic() - started
    statuses = Counter(r.status_code for r in answers)
    assert 20 <= statuses[401] <= 20 + elapsed * 20 / 60 + 1  # MODELYARD_AUTH_FAILURE_LIMIT
    assert statuses[429] == 60 - statuses[401]
    refused = [r for r in answers if r.status_code == 429]
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert refused[0].json()["error"]["code"] == "auth_throttled"
    assert "MODELYARD_AUTH_FAILURE_LIMIT" in refused[0].json()["error"]["message"]
    with keyed.client("known", "198.51.100.7") as client:  # a key that worked still works
        assert client.post(predict, json=_row(X)).status_code == 200
    with keyed.client("unseen", "198.51.100.7") as client:  # any other: refused unlooked-up
        assert client.post(predict, json=_row(X)).status_code == 429
    with keyed.client("myk_000000000000_guess", "198.51.100.8") as client:  # other clients
        assert client.post(predict, json=_row(X)).status_code == 401


@pytest.mark.parametrize(("endpoint", "allowed"), [("small-api", 64), ("capped-api", 10)])
def test_more_rows_than_the_endpoint_takes_get_413_naming_the_limit(
    keyed: Keyed, cancer, endpoint: str, allowed: int
) -> None:
    X, _ = cancer
    many = X.sample(allowed + 1, replace=True, random_state=0)
    exact = many.iloc[:allowed]
    v1 = f"/v1/endpoints/{endpoint}/predict"
    v2 = f"/v2/models/{endpoint}/infer"
    with keyed.client("rows", "192.0.2.30") as client:
        refusals = [
            client.post(v1, json={"instances": many.to_dict(orient="records")}),
            client.post(v1, json={"inputs": many.to_dict(orient="list")}),
            client.post(v2, json={"inputs": [_matrix(many)]}),
            client.post(v2, json={"inputs": _per_feature(many)}),
        ]
        accepted = [
            client.post(v1, json={"instances": exact.to_dict(orient="records")}),
            client.post(v2, json={"inputs": [_matrix(exact)]}),
        ]
    for response in refusals:
        assert response.status_code == 413, response.text
        body = response.json()
        message = body["error"]["message"] if "/v1/" in str(response.url) else body["error"]
        assert f"{allowed + 1} rows in one request" in message
        assert f"takes at most {allowed} per request" in message
        assert "max_request_rows" in message
    assert [r.status_code for r in accepted] == [200, 200]


def test_without_a_row_cap_a_request_of_any_size_within_the_body_limit_is_taken(
    keyed: Keyed, cancer
) -> None:
    many = cancer[0].sample(5_000, replace=True, random_state=0)
    with keyed.client("rows", "192.0.2.31") as client:
        answer = client.post(
            "/v1/endpoints/churn-api/predict", json={"inputs": many.to_dict(orient="list")}
        )
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"]) == 5_000


def test_a_v2_client_at_its_json_settings_is_told_the_row_limit(keyed: Keyed, cancer) -> None:
    tritonclient = pytest.importorskip("tritonclient.http")
    X, _ = cancer
    client = tritonclient.InferenceServerClient(
        keyed.server.url.removeprefix("http://"),
    )
    tensor = tritonclient.InferInput("input-0", [65, 30], "FP64")
    tensor.set_data_from_numpy(X.iloc[:65].to_numpy(dtype="float64"), binary_data=False)
    with pytest.raises(tritonclient.InferenceServerException, match="max_request_rows"):
        client.infer(
            "small-api",
            [tensor],
            headers={"Authorization": f"Bearer {keyed.secrets['rows']}"},
        )


def _matrix(frame) -> dict[str, object]:
    return {
        "name": "input-0",
        "shape": list(frame.shape),
        "datatype": "FP64",
        "data": frame.to_numpy().ravel().tolist(),
    }


def _per_feature(frame) -> list[dict[str, object]]:
    return [
        {"name": name, "shape": [len(frame)], "datatype": "FP64", "data": frame[name].tolist()}
        for name in frame.columns
    ]


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory, logreg, cancer) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("open")
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=cancer[0])
        yard.create_endpoint("churn-api", "churn@1")
    env = {
        "MODELYARD_CLIENT_RATE_LIMIT": "10",
        "MODELYARD_MAX_CONNECTIONS": "4",
        "MODELYARD_BODY_TIMEOUT_SECONDS": "1",
    }
    with running_server(home, "--dev", env=env) as server:
        yield server


def test_a_client_address_past_its_rate_gets_429(open_server: Server, cancer) -> None:
    X, _ = cancer
    predict = "/v1/endpoints/churn-api/predict"
    with open_server.client(headers={"X-Forwarded-For": "203.0.113.1"}) as client:
        started = time.monotonic()
        answers = [client.post(predict, json=_row(X)) for _ in range(60)]
        elapsed = time.monotonic() - started
        assert client.get("/health/ready").status_code == 200  # probes are never limited
    statuses = Counter(r.status_code for r in answers)
    assert 10 <= statuses[200] <= 10 + 10 * elapsed + 1
    assert statuses[429] == 60 - statuses[200] > 0
    refused = next(r for r in answers if r.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "203.0.113.1" not in refused.json()["error"]["message"]  # no address is told
    assert "MODELYARD_CLIENT_RATE_LIMIT" in refused.json()["error"]["message"]
    with open_server.client(headers={"X-Forwarded-For": "203.0.113.2"}) as other:
        assert other.post(predict, json=_row(X)).status_code == 200


def test_a_stalled_body_over_its_rate_is_refused_and_its_connection_closed(
    open_server: Server, cancer
) -> None:
    """Another connection of the same address spends its rate meanwhile: at the body
    deadline the caller is refused (429) or, had a token come back, timed out (408); either
    way the connection must close (a keep-alive 429 left it open with no deadline at all,
    the rest of the body still unread)."""
    X, _ = cancer
    address = {"X-Forwarded-For": "203.0.113.77"}
    predict = "/v1/endpoints/churn-api/predict"
    stop = threading.Event()

    def spend() -> None:
        with open_server.client(headers=address) as client:
            while not stop.is_set():
                client.post(predict, json=_row(X))

    spender = threading.Thread(target=spend)
    spender.start()
    try:
        body = orjson.dumps(_row(X))
        with connect(open_server.url) as sock:
            sock.sendall(request_head(predict, len(body), address) + body[:10])
            ending = drip(sock, body[10:], every=0.5)
    finally:
        stop.set()
        spender.join()
    assert ending.closed, "the connection stayed open after its stalled body was refused"
    assert ending.status in (408, 429)


def test_connections_past_the_cap_get_503_while_earlier_ones_work(open_server: Server) -> None:
    clients: list[httpx.Client] = []
    refused = None
    try:
        for index in range(8):  # a connection lingering from an earlier test may count too
            client = open_server.client(headers={"X-Forwarded-For": f"203.0.113.{50 + index}"})
            clients.append(client)
            response = client.get("/health/live")
            if response.status_code == 503:
                refused = response
                break
            assert response.status_code == 200
        assert refused is not None, "no connection was refused past MODELYARD_MAX_CONNECTIONS=4"
        assert len(clients) >= 4
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["connection"] == "close"
        assert refused.json()["error"]["code"] == "overloaded"
        assert "MODELYARD_MAX_CONNECTIONS" in refused.json()["error"]["message"]
        assert {c.get("/health/live").status_code for c in clients[:-1]} == {200}
    finally:
        for client in clients:
            client.close()
    deadline = time.monotonic() + 20
    while True:  # the closed connections free their places
        with open_server.client() as fresh:
            if fresh.get("/health/live").status_code == 200:
                break
        assert time.monotonic() < deadline
        time.sleep(0.2)
