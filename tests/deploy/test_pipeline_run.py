"""The pipelines' jobs and steps run here, in order, by bash, against a SQLite yard: what a
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
from modelyard.deploy.pipelines import GITHUB_PATH, GITLAB_PATH, Pipeline, pipeline_files
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
    for path, text in pipeline_files(spec, ["github", "gitlab"]).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return tmp_path


def _bash(repo: Path, script: str, env: dict[str, str], what: str) -> str:
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
    assert shell.returncode == 0, f"{what} failed:\n{out}"
    return out


def _environment(repo: Path, variables: dict[str, object]) -> dict[str, str]:
    return {
        **os.environ,
        **{k: str(v) for k, v in variables.items()},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MODELYARD_HOME": str(repo / "home"),
        "LOADTEST_PORT": str(free_port()),
        "LOADTEST_ENDPOINT": "churn-api-ci-42",
        "MODELYARD_ACTOR": "ci:tester",
    }


def _run_gitlab(repo: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Each stage's job, script then after_script; the dotenv report feeds the next jobs."""
    pipeline = yaml.safe_load((repo / GITLAB_PATH).read_text())
    env = {**_environment(repo, pipeline["variables"]), "CI_PIPELINE_ID": "42"}
    said = {}
    for stage in pipeline["stages"]:
        job = pipeline[stage]
        said[stage] = "".join(
            _bash(repo, "".join(job[part]), env, f"{stage} {part}")
            for part in ("script", "after_script")
            if part in job
        )
        dotenv = repo / "build" / "version.env"
        if dotenv.exists():
            key, _, value = dotenv.read_text().strip().partition("=")
            env[key] = value
    return said, env


def _run_github(repo: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Each `run` step; what a step appends to $GITHUB_ENV is in the next steps' env. The
    `${{ }}` expressions are the workflow's; the test sets their values itself."""
    workflow = yaml.safe_load((repo / GITHUB_PATH).read_text())
    github_env = repo / "github.env"
    github_env.touch()
    env = {
        **_environment(repo, {k: v for k, v in workflow["env"].items() if "${{" not in v}),
        "GITHUB_RUN_ID": "42",
        "GITHUB_ENV": str(github_env),
    }
    said = {}
    for step in workflow["jobs"]["ship"]["steps"]:
        if "run" not in step or step["name"] == "Install":
            continue
        said[step["name"]] = _bash(repo, step["run"], env, step["name"])
        for line in github_env.read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = value
    names = {"Drift gate": "train", "Promotion gate": "register", "Load-test gate": "loadtest"}
    return {names.get(k, k): v for k, v in said.items()}, env


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["gitlab", "github"])
def test_the_pipeline_takes_a_new_model_to_a_canary_rollout(repo: Path, provider: str) -> None:
    said, env = _run_gitlab(repo) if provider == "gitlab" else _run_github(repo)
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
