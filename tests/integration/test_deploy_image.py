"""The closest thing to building the image here (no Docker engine): the image's lock and
modelyard's source from the build context installed into a fresh virtualenv, as the
Dockerfile installs them, and `modelyard serve` started from it over the baked files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.integration.serving_fixtures import free_port

from modelyard import Yard
from modelyard.deploy.container import Baked, context_files, filler
from modelyard.deploy.files import write_folder
from modelyard.deploy.lock import environment_lock

pytestmark = pytest.mark.slow
UV = Path(sys.executable).parent / "uv"


def _install(context: Path, venv: Path) -> None:
    """uv from its local cache (--offline: no download at test time), --no-deps as the
    Dockerfile's pip: the lock alone must be the whole closure."""
    python = venv / "bin" / "python"
    steps = [
        [UV, "venv", "--quiet", "--python", sys.executable, venv],
        [UV, "pip", "install", "--quiet", "--offline", "--python", python, "--no-deps",
         "-r", context / "requirements.lock"],
        [UV, "pip", "install", "--quiet", "--offline", "--python", python, "--no-deps",
         context / "modelyard-src"],
    ]  # fmt: skip
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=300)
        assert done.returncode == 0, done.stderr


def test_the_lock_installs_alone_and_serves_the_baked_model(tmp_path: Path, logreg, cancer) -> None:
    X, _ = cancer
    home = tmp_path / "home"
    with Yard(home, actor="tester") as yard:
        yard.register(logreg, "churn", sample=X)
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production")
        _, secret = yard.create_key(["predict"])
        baked = Baked(yard.get_version("churn@production"), yard.stores.artifacts)
        lock = environment_lock()
        context = tmp_path / "context"
        write_folder(context, context_files(lock, baked), fill=filler(lock, baked))
    venv = tmp_path / "venv"
    _install(context, venv)

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD_", "PYTHON"))}
    env |= {
        "MODELYARD_DB_URL": f"sqlite:///{home / 'yard.db'}",
        "MODELYARD_ARTIFACTS": str(context / "models"),  # what the Dockerfile's ENV sets
        "MODELYARD_HOME": str(tmp_path / "writable"),
    }
    command = [venv / "bin" / "modelyard", "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=out)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        rows = X.head(3).to_dict(orient="records")
        answer = httpx.post(
            f"{url}/v1/endpoints/churn-api/predict",
            json={"instances": rows},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == logreg.predict(X.head(3)).tolist()
        server.send_signal(signal.SIGTERM)  # what the container's PID 1 gets
        assert server.wait(timeout=30) == 0, log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
