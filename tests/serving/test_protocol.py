"""The connection protocol reaches ``--workers`` processes: uvicorn pickles its config."""

import pickle
import select
import time

import psutil
import pytest
from tests.integration.raw_http import connect
from tests.integration.serving_fixtures import running_server

from modelyard import Yard
from modelyard.config import Settings
from modelyard.serving.direct import DirectProtocol
from modelyard.serving.protocol import LimitedHttpToolsProtocol
from modelyard.serving.server import protocol_for


def test_the_protocol_with_its_settings_survives_pickling() -> None:
    settings = Settings(header_timeout_seconds=3, body_timeout_seconds=4, max_connections=5)
    factory = pickle.loads(pickle.dumps(protocol_for(settings)))
    assert factory.func is DirectProtocol
    assert factory.keywords == {
        "header_timeout": 3.0,
        "body_timeout": 4.0,
        "max_connections": 5,
    }


def test_with_direct_predictions_off_every_request_goes_through_asgi() -> None:
    factory = protocol_for(Settings(direct_predict=False))
    assert factory.func is LimitedHttpToolsProtocol  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_client_pipelining_without_reading_cannot_grow_the_server(tmp_path, logreg, cancer):
    """Requests sent back to back for 3 s, no answer read: the server stops reading once
    answers back up (uvicorn resumed reading after each answer, whatever was queued, and
    grew by ~170 MB a second here)."""
    with Yard(tmp_path) as yard:
        yard.register(logreg, "churn", sample=cancer[0])
        yard.create_endpoint("churn-api", "churn@1")
    request = (
        b"POST /v1/endpoints/nope/predict HTTP/1.1\r\nHost: t\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    with running_server(tmp_path, "--dev") as server:
        process = psutil.Process(server.process.pid)
        before = process.memory_info().rss
        with connect(server.url) as sock:
            sock.setblocking(False)
            pending = b""
            until = time.monotonic() + 3
            while time.monotonic() < until:
                pending = pending or request
                try:
                    pending = pending[sock.send(pending) :]
                except BlockingIOError:
                    select.select([], [sock], [], 0.05)
            grown = process.memory_info().rss - before
    assert grown < 100 * 2**20, f"the server grew by {grown / 2**20:.0f} MiB"
