"""v1 predictions answered on the connection (serving/direct.py), against a real server.

Two servers over one yard: the default one answers v1 predictions on the connection, the
other (``MODELYARD_DIRECT_PREDICT=false``) through ASGI; what a caller sees must not
differ, for answers and refusals alike. The raw-socket tests cover what only the
connection sees: a body after its headers, pipelining, ``Connection: close``.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
from tests.integration.models_for_serving import SlowClassifier
from tests.integration.raw_http import Ending, connect, drip, request_head
from tests.integration.serving_fixtures import Server, running_server

from modelyard import Yard

pytestmark = pytest.mark.slow

PREDICT = "/v1/endpoints/churn-api/predict"
VOLATILE = {"date", "x-request-id"}  # differ per answer by design
LIMITS = {"MODELYARD_MAX_BODY_BYTES": "200000", "MODELYARD_BODY_TIMEOUT_SECONDS": "1"}


@dataclass
class Pair:
    direct: Server
    asgi: Server
    secret: str
    rows: list[dict[str, float]]

    def both(self, method: str, path: str, **kwargs: object) -> list[httpx.Response]:
        answers = []
        for server in (self.direct, self.asgi):
            with server.client() as client:
                answers.append(client.request(method, path, **kwargs))  # type: ignore[arg-type]
        return answers


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, logreg, cancer) -> Iterator[Pair]:
    home = tmp_path_factory.mktemp("direct")
    frame = cancer[0]
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=frame)
        yard.create_endpoint("churn-api", "churn@1")
        _, secret = yard.create_key(["predict"])
    rows = [{k: float(v) for k, v in row.items()} for row in frame.head(3).to_dict("records")]
    with (
        running_server(home, env=LIMITS) as direct,
        running_server(home, env={**LIMITS, "MODELYARD_DIRECT_PREDICT": "false"}) as asgi,
    ):
        yield Pair(direct, asgi, secret, rows)


def _comparable(response: httpx.Response) -> tuple[int, dict[str, str], object]:
    body = response.json()
    if isinstance(body, dict):
        body.pop("prediction_ids", None)
        body.pop("request_id", None)
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE}
    return response.status_code, headers, body


def test_an_answer_is_the_same_on_the_connection_and_through_asgi(pair: Pair) -> None:
    key = {"X-API-Key": pair.secret, "X-Request-ID": "caller-7"}
    direct, asgi = pair.both("POST", PREDICT, json={"instances": pair.rows}, headers=key)
    assert direct.status_code == 200, direct.text
    assert _comparable(direct) == _comparable(asgi)
    assert direct.headers["x-request-id"] == asgi.headers["x-request-id"] == "caller-7"
    assert len(direct.json()["prediction_ids"]) == 3


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"instances": [{"mean radius": 1.0}]}, {}, 401),  # no key
        ({"instances": [{"mean radius": "x"}]}, {"X-API-Key": "myd_wrong"}, 401),
        ({"instances": [{"mean radius": "x"}]}, {"key": True}, 422),  # breaks the schema
        (b"{not json", {"key": True}, 400),
        ({"rows": []}, {"key": True}, 422),  # neither instances nor inputs
        ({"instances": "rows"}, {"key": True}, 422),
        (None, {"key": True, "X-Modelyard-Deadline-Ms": "soon"}, 400),
        (None, {"key": True, "X-Modelyard-Deadline-Ms": "-5"}, 400),
        (None, {"key": True, "Content-Type": "text/csv"}, 415),
        (b"x" * 200_001, {"key": True}, 413),
        (b"", {"key": True}, 400),
    ],
)
def test_a_refusal_is_the_same_on_the_connection_and_through_asgi(
    pair: Pair, body: object, headers: dict[str, object], status: int
) -> None:
    sent = {k: v for k, v in headers.items() if k != "key"}
    if headers.get("key"):
        sent["X-API-Key"] = pair.secret
    content = body if isinstance(body, bytes) else orjson.dumps(body or {"instances": pair.rows})
    sent.setdefault("Content-Type", "application/json")
    direct, asgi = pair.both("POST", PREDICT, content=content, headers=sent)
    assert direct.status_code == status, direct.text
    assert _comparable(direct) == _comparable(asgi)


def test_an_unknown_endpoint_is_a_404_on_either_path(pair: Pair) -> None:
    direct, asgi = pair.both(
        "POST",
        "/v1/endpoints/nope/predict",
        json={"instances": pair.rows},
        headers={"X-API-Key": pair.secret},
    )
    assert direct.status_code == 404
    assert _comparable(direct) == _comparable(asgi)


def test_a_v2_json_answer_and_refusal_are_the_same_on_either_path(pair: Pair) -> None:
    infer = "/v2/models/churn-api/infer"
    values = [[row[k] for k in row] for row in pair.rows]
    tensor = {"name": "input-0", "shape": [3, len(values[0])], "datatype": "FP64"}
    body = {"id": "q1", "inputs": [{**tensor, "data": values}]}
    key = {"X-API-Key": pair.secret}
    direct, asgi = pair.both("POST", infer, json=body, headers=key)
    assert direct.status_code == 200, direct.text
    direct_json, asgi_json = direct.json(), asgi.json()
    for answer in (direct_json, asgi_json):
        answer["parameters"].pop("prediction_ids")
    assert direct_json == asgi_json
    wrong = {"inputs": [{**tensor, "shape": [2, 1], "data": values}]}
    direct, asgi = pair.both("POST", infer, json=wrong, headers=key)
    assert direct.status_code in (400, 422), direct.text
    assert _comparable(direct) == _comparable(asgi)


def test_a_triton_client_at_its_defaults_gets_the_same_binary_answer(pair: Pair, cancer) -> None:
    http = pytest.importorskip("tritonclient.http")
    values = cancer[0].iloc[:4].to_numpy()
    results = []
    for server in (pair.direct, pair.asgi):
        client = http.InferenceServerClient(server.url.removeprefix("http://"))
        tensor = http.InferInput("input-0", list(values.shape), "FP64")
        tensor.set_data_from_numpy(values)
        result = client.infer("churn-api", [tensor], headers={"X-API-Key": pair.secret})
        results.append((result.as_numpy("predict"), result.as_numpy("predict_proba")))
    (direct_predict, direct_proba), (asgi_predict, asgi_proba) = results
    assert direct_predict.tolist() == asgi_predict.tolist()
    assert direct_proba.tolist() == asgi_proba.tolist()


def test_a_v2_body_for_an_unknown_model_is_a_404_first_on_either_path(pair: Pair) -> None:
    direct, asgi = pair.both(
        "POST", "/v2/models/nope/infer", content=b"{not json", headers={"X-API-Key": pair.secret}
    )
    assert direct.status_code == 404, direct.text
    assert _comparable(direct) == _comparable(asgi)


def _body(pair: Pair) -> bytes:
    return orjson.dumps({"instances": pair.rows[:1]})


def _request(pair: Pair, request_id: str, extra: dict[str, str] | None = None) -> bytes:
    body = _body(pair)
    headers = {"X-API-Key": pair.secret, "X-Request-ID": request_id, **(extra or {})}
    return request_head(PREDICT, len(body), headers) + body


def _answers(sock: socket.socket, count: int) -> list[tuple[int, dict[bytes, bytes], bytes]]:
    """``count`` HTTP/1.1 answers read off ``sock`` (each with a Content-Length)."""
    buffer = b""
    answers = []
    while len(answers) < count:
        head, found, rest = buffer.partition(b"\r\n\r\n")
        if found:
            lines = head.split(b"\r\n")
            headers = dict(line.lower().split(b": ", 1) for line in lines[1:])
            length = int(headers[b"content-length"])
            if len(rest) >= length:
                answers.append((int(lines[0][9:12]), headers, rest[:length]))
                buffer = rest[length:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"closed after {len(answers)} answers"
        buffer += chunk
    return answers


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_a_body_sent_after_its_headers_is_answered_on_the_connection(pair: Pair) -> None:
    """As httpx sends: the headers, then the body (here in two more pieces)."""
    data = _request(pair, "late-body")
    head, _, body = data.partition(b"\r\n\r\n")
    before = _direct_count(pair.direct)
    with connect(pair.direct.url) as sock:
        sock.sendall(head + b"\r\n\r\n")
        time.sleep(0.05)  # (read apart from the headers; well within the 1 s deadline)
        sock.sendall(body[:5])
        time.sleep(0.05)
        sock.sendall(body[5:])
        ((status, headers, answer),) = _answers(sock, 1)
        sock.sendall(_request(pair, "next"))  # the connection goes on
        ((again, _, _),) = _answers(sock, 1)
    assert status == again == 200, answer
    assert headers[b"x-request-id"] == b"late-body"
    assert len(orjson.loads(answer)["predictions"]) == 1
    assert _direct_count(pair.direct) - before == 2


def _stalled(server: Server, headers: dict[str, str]) -> Ending:
    body = b'{"instances": [' + b" " * 200 + b"]}"
    with connect(server.url) as sock:
        sock.sendall(request_head(PREDICT, len(body), headers) + body[:10])
        return drip(sock, body[10:], every=0.5)


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "no-key"])
def test_a_body_that_stops_arriving_is_refused_as_through_asgi(pair: Pair, keyed: bool) -> None:
    """Past the body deadline (1 s): a 408 once the key is checked, the 401 of a missing
    key otherwise (ASGI answers it before reading the body), and the connection closes."""
    headers = {"X-Request-ID": "stalled", **({"X-API-Key": pair.secret} if keyed else {})}
    endings = [_stalled(server, headers) for server in (pair.direct, pair.asgi)]
    assert [e.closed for e in endings] == [True, True]
    assert [e.status for e in endings] == ([408, 408] if keyed else [401, 401])
    assert endings[0].json() == endings[1].json()


def test_pipelined_requests_are_answered_in_their_order(pair: Pair) -> None:
    live = b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n"
    data = _request(pair, "first") + live + _request(pair, "third") + _request(pair, "fourth")
    with connect(pair.direct.url) as sock:
        sock.sendall(data)
        answers = _answers(sock, 4)
    assert [status for status, _, _ in answers] == [200, 200, 200, 200]
    ids = [headers[b"x-request-id"] for _, headers, _ in answers]
    assert ids[0] == b"first"
    assert ids[2:] == [b"third", b"fourth"]
    assert b"predictions" not in answers[1][2]  # the health answer, in its place


def test_connection_close_is_honoured_after_the_answer(pair: Pair) -> None:
    with connect(pair.direct.url) as sock:
        sock.sendall(_request(pair, "last", {"Connection": "close"}))
        ((status, headers, _),) = _answers(sock, 1)
        assert status == 200
        assert headers[b"connection"] == b"close"
        assert _closed(sock)


def test_a_keep_alive_connection_serves_many_answers(pair: Pair) -> None:
    with connect(pair.direct.url) as sock:
        for n in range(20):
            sock.sendall(_request(pair, f"r{n}"))
            ((status, headers, _),) = _answers(sock, 1)
            assert (status, headers[b"x-request-id"]) == (200, f"r{n}".encode())


def _count(server: Server, status: str) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    total = 0.0
    for line in text.splitlines():
        if (
            line.startswith("modelyard_requests_total{")
            and 'endpoint="churn-api"' in line
            and f'status="{status}"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_answers_and_refusals_are_counted_as_through_asgi(pair: Pair) -> None:
    before = {status: _count(pair.direct, status) for status in ("200", "422")}
    with pair.direct.client() as client:
        key = {"X-API-Key": pair.secret}
        for _ in range(3):
            client.post(PREDICT, json={"instances": pair.rows}, headers=key)
        client.post(PREDICT, json={"instances": [{"mean radius": "x"}]}, headers=key)
    assert _count(pair.direct, "200") - before["200"] == 3
    assert _count(pair.direct, "422") - before["422"] == 1


def _direct_count(server: Server) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    (line,) = [x for x in text.splitlines() if x.startswith("modelyard_direct_requests_total")]
    return float(line.rsplit(" ", 1)[1])


def test_the_metrics_tell_which_requests_were_taken_on_the_connection(pair: Pair) -> None:
    """A request with a Content-Length, then a chunked one (always ASGI's)."""
    before = _direct_count(pair.direct), _direct_count(pair.asgi)
    for server in (pair.direct, pair.asgi):
        with connect(server.url) as sock:
            sock.sendall(_request(pair, "whole"))
            ((status, _, _),) = _answers(sock, 1)
            assert status == 200
    with pair.direct.client() as client:  # chunked: the body is ASGI's to read
        client.post(
            PREDICT,
            content=iter([_body(pair)]),
            headers={"X-API-Key": pair.secret, "Content-Type": "application/json"},
        )
    assert _direct_count(pair.direct) - before[0] == 1
    assert _direct_count(pair.asgi) == before[1] == 0


def test_an_httpx_client_at_its_defaults_is_answered_on_the_connection(pair: Pair) -> None:
    """httpx writes a request's headers and its body apart: each post is still taken on
    the connection, however the two were read."""
    before = _direct_count(pair.direct)
    with httpx.Client(base_url=pair.direct.url, headers={"X-API-Key": pair.secret}) as client:
        answers = [client.post(PREDICT, json={"instances": pair.rows[:1]}) for _ in range(20)]
    assert [a.status_code for a in answers] == [200] * 20
    assert _direct_count(pair.direct) - before == 20


def test_a_shutdown_lets_a_call_in_flight_answer_then_closes(tmp_path, cancer) -> None:
    """SIGTERM with a 2 s model call in flight: the drain (0.3 s) ends and uvicorn closes the
    idle connections while the call runs; its connection answers, then closes."""
    X, y = cancer
    with Yard(tmp_path) as yard:
        yard.register(SlowClassifier(delay=0.0).fit(X, y), "slow", sample=X, trust_types=True)
        yard.create_endpoint("slow-api", "slow@1")
    answers: list[tuple[int, dict[bytes, bytes]]] = []
    body = orjson.dumps({"instances": [{k: float(v) for k, v in X.iloc[0].items()}]})
    request = request_head("/v1/endpoints/slow-api/predict", len(body)) + body
    env = {"MODELYARD_DRAIN_SECONDS": "0.3", "SLOW_MODEL_DELAY": "2"}  # served copy: slow
    with running_server(tmp_path, "--dev", env=env) as server, connect(server.url) as sock:

        def call() -> None:
            sock.sendall(request)
            ((status, headers, _),) = _answers(sock, 1)
            answers.append((status, headers))

        in_flight = threading.Thread(target=call)
        in_flight.start()
        time.sleep(0.4)
        assert _direct_count(server) == 1  # taken on the connection, and in flight
        os.killpg(server.process.pid, signal.SIGTERM)
        in_flight.join(timeout=30)
        assert answers
        assert answers[0][0] == 200
        assert answers[0][1][b"connection"] == b"close"
        assert _closed(sock)
        assert server.process.wait(timeout=30) == 0
