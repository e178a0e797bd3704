"""A replica that cannot work refuses to start, at once and saying why: a database written
by a newer release, an unreachable database, an unreachable or silent S3 endpoint."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.integration.serving_fixtures import ROOT, free_port

from modelyard.store.db import Database

pytestmark = [pytest.mark.slow, pytest.mark.serial]  # judges time (generously)

STORE_TIMEOUT = 1.0  # MODELYARD_STORE_TIMEOUT_SECONDS: the S3 check waits twice this
START_UP = 20.0  # Python, imports and a refused connection, on a shared machine


def _serve(home: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelyard.cli",
            "--home",
            str(home),
            "serve",
            "--dev",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,  # a hang fails the test here
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "MODELYARD_STORE_TIMEOUT_SECONDS": str(STORE_TIMEOUT),
            **env,
        },
    )
    return done, time.monotonic() - started


def _s3(endpoint: str) -> dict[str, str]:
    return {
        "MODELYARD_ARTIFACTS": "s3://fleet/artifacts",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # one line, no traceback
    return lines[0]


def test_a_database_of_a_newer_schema_is_refused_and_left_alone(
    tmp_path: Path, pg_url: str
) -> None:
    db = Database(pg_url)
    try:
        db.migrate()
        with db.engine.begin() as conn:  # as a newer release leaves it
            conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    finally:
        db.dispose()
    done, took = _serve(tmp_path / "home", {"MODELYARD_DB_URL": pg_url})
    line = _one_error_line(done)
    assert "schema revision 0099" in line, line
    assert "never migrated down" in line, line
    assert took < START_UP
    db = Database(pg_url)
    try:
        assert db.schema_revision() == "0099"
    finally:
        db.dispose()


def test_an_unreachable_database_is_said_at_once(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    done, took = _serve(tmp_path / "home", {"MODELYARD_DB_URL": url})
    line = _one_error_line(done)
    assert "cannot open the database" in line, line
    assert "Connection refused" in line, line
    assert took < START_UP


def test_an_unreachable_s3_endpoint_is_said_at_once(tmp_path: Path) -> None:
    pytest.importorskip("s3fs")
    done, took = _serve(tmp_path / "home", _s3(f"http://127.0.0.1:{free_port()}"))
    line = _one_error_line(done)
    # The S3 client retries a refused connection with back-off: past the bound, it is
    # given up on as silent.
    assert "artifact store s3://fleet/artifacts" in line, line
    assert "cannot reach" in line or "did not answer" in line, line
    assert took < START_UP


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A port that accepts connections and never answers (a stuck proxy, a black hole)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_silent_s3_endpoint_is_given_up_on_in_bounded_time(
    tmp_path: Path, silent_endpoint: str
) -> None:
    pytest.importorskip("s3fs")
    done, took = _serve(tmp_path / "home", _s3(silent_endpoint))
    line = _one_error_line(done)
    assert f"did not answer within {2 * STORE_TIMEOUT:g}s" in line, line
    assert took < START_UP + 2 * STORE_TIMEOUT
