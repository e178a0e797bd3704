"""The GitLab pipeline's jobs run here, in order, by bash, against a SQLite yard: what a
runner would do, short of the runner. Proves the scripts work together (the version passed
on, the gates' exit codes, the load test against the server the job starts)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sklearn.pipeline import Pipeline as SkPipeline

from modelyard import Yard
from modelyard.deploy.pipelines import GITLAB_PATH, Pipeline, pipeline_files
from tests.integration.serving_fixtures import free_port

ROOT = Path(__file__).resolve().parents[2]
TRAIN = f"python {ROOT / 'examples' / 'train.py'} --out build"


@pytest.fixture
def repo(tmp_path: Path, logreg: SkPipeline, cancer: tuple[pd.DataFrame, pd.Series]) -> Path:
    X, _ = cancer
    with Yard(tmp_path / "home") as yard:
        yard.register(logreg, "churn", sample=X)
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production")
    spec = Pipeline(
        model="churn",
        endpoint="churn-api",
        users=2,
        duration="2s",
        p95_ms=5000,
        install="true",
        train=TRAIN,
    )
    for path, text in pipeline_files(spec, ["gitlab"]).items():
        (tmp_path / path).write_text(text)
    return tmp_path


def _run_job(repo: Path, job: dict[str, list[str]], env: dict[str, str]) -> str:
    said = ""
    for part in ("script", "after_script"):
        script = "".join(job.get(part, []))
        if not script:
            continue
        shell = subprocess.Popen(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=repo,
            env=env,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        out, _ = shell.communicate(timeout=240)
        # what the job left running (the server) ends with it, as the runner's container does
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)
        assert shell.returncode == 0, f"{part} failed:\n{out}"
        said += out
    return said


@pytest.mark.slow
def test_the_gitlab_jobs_take_a_new_model_to_a_canary_rollout(repo: Path) -> None:
    pipeline = yaml.safe_load((repo / GITLAB_PATH).read_text())
    env = {
        **os.environ,
        **{k: str(v) for k, v in pipeline["variables"].items()},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MODELYARD_HOME": str(repo / "home"),
        "LOADTEST_PORT": str(free_port()),
        "CI_PIPELINE_ID": "42",
        "GITLAB_USER_LOGIN": "tester",
    }
    env["LOADTEST_ENDPOINT"] = "churn-api-ci-42"
    env["MODELYARD_ACTOR"] = "gitlab:tester"
    said = {}
    for stage in pipeline["stages"]:
        said[stage] = _run_job(repo, pipeline[stage], env)
        dotenv = repo / "build" / "version.env"
        if dotenv.exists():  # GitLab's dotenv report: the next jobs' environment
            key, _, value = dotenv.read_text().strip().partition("=")
            env[key] = value
    assert env["MODEL_VERSION"] == "2"
    with Yard(repo / "home") as yard:
        rollout = yard.rollout_status("churn-api")
        assert (rollout.plan.candidate, rollout.active) == ("churn@2", True)
        assert [e.name for e in yard.list_endpoints()] == ["churn-api"]  # load-test one gone
        assert yard.get_version("churn@production").version == 1  # the rollout moves it
    assert "dataset: no drift" in said["train"]
    assert "gate passed: nothing moved (--check)" in said["register"]
    assert "load test: churn-api-ci-42" in said["loadtest"]
    assert "budget broken" not in said["loadtest"]
