"""The examples run as they are written: the CI workflow's steps in a shell, the FastAPI
app in-process, the retrain task as the controller would start it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from modelyard import Yard

EXAMPLES = Path(__file__).parents[2] / "examples"
BIN = Path(sys.executable).parent


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MODELYARD_HOME": str(home),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        **extra,
    }


def _workflow_steps() -> list[dict[str, str]]:
    workflow = yaml.safe_load((EXAMPLES / "ci" / "model-ci.yml").read_text())
    steps = workflow["jobs"]["train-and-register"]["steps"]
    return [s for s in steps if "run" in s and s.get("name") != "install"]


def _run_workflow(workdir: Path, home: Path) -> list[subprocess.CompletedProcess[str]]:
    (workdir / "examples").symlink_to(EXAMPLES)
    done = []
    for step in _workflow_steps():
        result = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", step["run"]],
            cwd=workdir,
            env=_env(home),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        done.append(result)
        if result.returncode != 0:
            break
    return done


@pytest.mark.slow
def test_the_ci_workflow_trains_gates_registers_and_promotes(tmp_path: Path) -> None:
    home = tmp_path / ".modelyard"
    done = _run_workflow(tmp_path, home)
    assert [r.returncode for r in done] == [0] * len(_workflow_steps()), done[-1].stderr
    with Yard(home) as yard:
        production = yard.get_version("churn@production")
        assert production.version == 1
        assert production.tags["commit"] == "local"
        assert production.metrics["accuracy"] > 0.9


def test_the_drift_gate_stops_the_workflow_on_shifted_data(tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(EXAMPLES)
    env = _env(tmp_path / ".modelyard")
    subprocess.run(
        [sys.executable, "examples/train.py", "--out", "build", "--shift", "1.0"],
        cwd=tmp_path, env=env, check=True, capture_output=True,
    )  # fmt: skip
    gate = next(s for s in _workflow_steps() if s["name"].startswith("drift gate"))
    result = subprocess.run(
        ["bash", "-c", gate["run"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr


@pytest.fixture
def production(sqlite_yard: Yard, logreg, cancer) -> Yard:
    X, _ = cancer
    sqlite_yard.register(logreg, "churn", sample=X)
    sqlite_yard.set_alias("churn", "production", 1)
    sqlite_yard.create_endpoint("churn-api", "churn@production")
    return sqlite_yard


@pytest.mark.slow
def test_the_fastapi_app_serves_the_production_model(production: Yard, cancer) -> None:
    X, _ = cancer
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "fastapi_app:app",
            "--app-dir",
            str(EXAMPLES),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=_env(production.settings.home),
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.post(
                    f"{url}/predict", json={"instances": X.head(3).to_dict(orient="records")}
                )
                break
            except httpx.TransportError:
                assert app.poll() is None, "the app exited"
                assert time.monotonic() < deadline, "the app never started"
                time.sleep(0.2)
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == "churn@1"
        assert len(answer.json()["predictions"]) == 3
        refused = httpx.post(f"{url}/predict", json={"instances": [{"mean radius": 1.0}]})
        assert refused.status_code == 422
    finally:
        app.terminate()
        app.wait(30)


def test_the_retrain_task_registers_and_starts_a_canary(production: Yard) -> None:
    home = production.settings.home
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "retrain.py"), "--rollout"],
        env=_env(home, MODELYARD_ENDPOINT="churn-api", MODELYARD_TRIGGER="policy 1"),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "registered churn@2" in result.stdout
    with Yard(home) as yard:
        assert yard.get_version("churn@2").tags["trigger"] == "policy 1"
        rollout = yard.rollout_status("churn-api")
        assert (rollout.state, rollout.plan.candidate) == ("running", "churn@2")
