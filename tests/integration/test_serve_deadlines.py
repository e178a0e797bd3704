"""Slow clients against a real ``modelyard serve``: headers and bodies have deadlines.

Each deadline is set to 1 s; the tests only ask that the server acts within
``raw_http.PATIENCE`` (20 s) — before these deadlines it held such connections forever.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import orjson
import pytest
from tests.integration.raw_http import Ending, connect, drip, request_head
from tests.integration.serving_fixtures import Server, running_server

from modelyard import Yard

pytestmark = [pytest.mark.slow, pytest.mark.serial]  # judges time: run alone

DEADLINES = {
    "MODELYARD_HEADER_TIMEOUT_SECONDS": "1",
    "MODELYARD_BODY_TIMEOUT_SECONDS": "1",
    "MODELYARD_KEEP_ALIVE_SECONDS": "1",
}
LIVE = b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n"
SLOW_HEAD = b"GET /health/live HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 500
PREDICT = "/v1/endpoints/churn-api/predict"


@dataclass
class Keyed:
    server: Server
    secret: str

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, logreg, cancer) -> Iterator[Keyed]:
    home = tmp_path_factory.mktemp("deadlines")
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=cancer[0])
        yard.create_endpoint("churn-api", "churn@1")
        _, secret = yard.create_key(["predict"])
    with running_server(home, env=DEADLINES) as server:
        yield Keyed(server, secret)


def _slowloris(url: str) -> Ending:
    with connect(url) as sock:
        return drip(sock, SLOW_HEAD)


def test_headers_sent_a_byte_at_a_time_get_408_and_a_close(keyed: Keyed) -> None:
    ending = _slowloris(keyed.url)
    assert ending.closed, "the server held a connection whose headers never ended"
    assert ending.status == 408
    assert ending.json() == {
        "error": {
            "code": "request_timeout",
            "message": "the request headers did not arrive within 1 s "
            "(MODELYARD_HEADER_TIMEOUT_SECONDS)",
        }
    }


def test_a_connection_that_sends_nothing_is_closed(keyed: Keyed) -> None:
    with connect(keyed.url) as sock:
        ending = drip(sock, b"")
    assert ending == Ending(b"", True)


def test_a_body_that_stops_arriving_gets_408_and_a_close(keyed: Keyed) -> None:
    body = b'{"instances": [' + b" " * 200 + b"]}"
    head = request_head(PREDICT, len(body), {"Authorization": f"Bearer {keyed.secret}"})
    with connect(keyed.url) as sock:
        sock.sendall(head + body[:10])
        ending = drip(sock, body[10:], every=0.5)
    assert ending.closed, "the server held a connection whose body never ended"
    assert ending.status == 408
    error = ending.json()
    assert isinstance(error, dict)
    assert error["error"]["code"] == "request_timeout"
    assert "MODELYARD_BODY_TIMEOUT_SECONDS" in error["error"]["message"]
    assert error["request_id"]


def test_a_body_left_unread_after_the_answer_must_still_arrive_in_time(keyed: Keyed) -> None:
    """No key: 401 (through ASGI before the body is read, and uvicorn alone then waited for
    the rest forever; on the connection's own path, serving/direct.py, at the deadline)."""
    body = b'{"instances": [' + b" " * 200 + b"]}"
    with connect(keyed.url) as sock:
        sock.sendall(request_head(PREDICT, len(body)) + body[:10])
        ending = drip(sock, body[10:], every=0.5)
    assert ending.closed
    assert ending.status == 401


def test_an_idle_connection_is_closed_after_its_keep_alive(keyed: Keyed) -> None:
    with connect(keyed.url) as sock:
        sock.sendall(LIVE)
        started = time.monotonic()
        ending = drip(sock, b"")  # the answer, then nothing until the server closes
    assert ending.closed, "the server held an idle connection past its keep-alive"
    assert ending.status == 200
    assert time.monotonic() - started >= 1.0 - 0.01  # not before the keep-alive (uvloop: ms)


def test_a_connection_used_again_within_its_keep_alive_stays_open(keyed: Keyed) -> None:
    """Five requests 0.4 s apart: 1.6 s on one connection whose keep-alive is 1 s."""
    with connect(keyed.url) as sock:
        for _ in range(5):
            sock.sendall(LIVE)
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200"), answer
            time.sleep(0.4)
        sock.sendall(LIVE)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")


def test_a_prompt_client_is_not_hurried(keyed: Keyed, cancer) -> None:
    X, _ = cancer
    with keyed.server.client(headers={"Authorization": f"Bearer {keyed.secret}"}) as client:
        answers = [
            client.post(PREDICT, json={"instances": X.iloc[:2].to_dict(orient="records")})
            for _ in range(20)
        ]
    assert {r.status_code for r in answers} == {200}


def test_headers_begun_before_the_last_answer_still_have_their_deadline(
    keyed: Keyed, cancer
) -> None:
    """A request, and the start of the next one's head in the same send: the answer went
    out after the head began, and its keep-alive wait once replaced the head's deadline
    (the rest, a byte at a time, then held the connection forever)."""
    X, _ = cancer
    body = orjson.dumps({"instances": X.iloc[:1].to_dict(orient="records")})
    head = request_head(PREDICT, len(body), {"Authorization": f"Bearer {keyed.secret}"})
    with connect(keyed.url) as sock:
        sock.sendall(head + body + SLOW_HEAD[:20])
        ending = drip(sock, SLOW_HEAD[20:])
    assert ending.status == 200  # the first answer
    assert ending.closed, "the server held a connection whose second head never ended"
    assert b"HTTP/1.1 408 " in ending.received


def test_every_worker_process_has_the_deadlines(tmp_path, logreg, cancer) -> None:
    """``--workers 2``: uvicorn pickles its config into new processes, protocol included."""
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=cancer[0])
        yard.create_endpoint("churn-api", "churn@1")
    with running_server(home, "--dev", "--workers", "2", env=DEADLINES) as server:
        with ThreadPoolExecutor(6) as pool:
            endings = list(pool.map(_slowloris, [server.url] * 6))
        with server.client() as client:
            assert client.get("/metrics").status_code == 200
    assert [(e.closed, e.status) for e in endings] == [(True, 408)] * 6
