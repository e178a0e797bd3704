"""The CI pipelines `modelyard deploy ci` writes: valid for GitHub and GitLab by their JSON
schemas (check-jsonschema, the dev extra), secrets by reference, and every `modelyard` line
in them a command the real CLI accepts."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

from modelyard.cli.app import app
from modelyard.deploy.pipelines import (
    GITHUB_PATH,
    GITLAB_PATH,
    SECRETS,
    Pipeline,
    pipeline_files,
)
from modelyard.errors import InvalidInput

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
SCHEMAS = {GITHUB_PATH: "vendor.github-workflows", GITLAB_PATH: "vendor.gitlab-ci"}
SPEC = Pipeline(model="churn", endpoint="churn-api", train="python ml/train.py --fast")
# What the shell would put in place of each variable, for parsing the command lines.
SHELL_VALUES = {"MODEL_VERSION": "7", "GITHUB_RUN_ID": "99", "CI_PIPELINE_ID": "99"}
SHELL_OPERATORS = {">", ">>", "&", "|", "||", "&&", "2>&1"}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("repo")
    for path, text in pipeline_files(SPEC, ["github", "gitlab"]).items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text)
    return out


def _validate(schema: str, file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, str(file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("path", sorted(SCHEMAS))
def test_each_pipeline_passes_its_ci_systems_schema(written: Path, path: str) -> None:
    done = _validate(SCHEMAS[path], written / path)
    assert done.returncode == 0, done.stdout + done.stderr


BREAKAGES = {
    GITHUB_PATH: ("    runs-on: ubuntu-latest\n", "    runs_on: ubuntu-latest\n"),
    GITLAB_PATH: ("  stage: rollout\n  needs:", "  stage: rollout\n  needs: 3\n  x:"),
}


@pytest.mark.parametrize("path", sorted(SCHEMAS))
def test_the_schema_check_fails_a_broken_pipeline(written: Path, tmp_path: Path, path: str) -> None:
    old, new = BREAKAGES[path]
    text = (written / path).read_text()
    assert old in text
    broken = tmp_path / Path(path).name
    broken.write_text(text.replace(old, new, 1))
    done = _validate(SCHEMAS[path], broken)
    assert done.returncode == 1, done.stdout
    assert "validation errors" in done.stdout.lower() or "error" in done.stdout.lower()


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _command_lines(text: str) -> list[list[str]]:
    """Every `modelyard ...` line of the pipeline's scripts, as the shell would split it."""
    variables = yaml.safe_load(text).get("variables") or yaml.safe_load(text).get("env") or {}
    values = {**{k: str(v) for k, v in variables.items()}, **SHELL_VALUES}
    found = []
    for script in _strings(yaml.safe_load(text)):
        for line in script.replace("\\\n", " ").splitlines():
            if not line.startswith("modelyard "):
                continue
            expanded = re.sub(
                r"\$\{?([A-Z_][A-Z0-9_]*)\}?", lambda m: values.get(m.group(1), "x"), line
            )
            words = shlex.split(expanded)
            cut = next((i for i, w in enumerate(words) if w in SHELL_OPERATORS), len(words))
            found.append(words[1:cut])
    return found


def _parse(args: list[str]) -> str:
    """Parse ``args`` the way `modelyard` would, down to the command; return its path."""
    command: Any = get_command(app)
    context = command.make_context("modelyard", list(args))
    path = []
    while hasattr(command, "resolve_command"):
        rest = [*context._protected_args, *context.args]
        name, command, rest = command.resolve_command(context, rest)
        path.append(name)
        context = command.make_context(name, rest, parent=context)
    return " ".join(path)


@pytest.mark.parametrize("path", sorted(SCHEMAS))
def test_every_modelyard_line_is_a_command_the_cli_accepts(written: Path, path: str) -> None:
    lines = _command_lines((written / path).read_text())
    commands = [_parse(args) for args in lines]
    assert commands == [
        "drift",
        "register",
        "promote",
        "endpoint create",
        "serve",
        "loadtest",
        "endpoint delete",
        "rollout start",
    ]


def test_a_changed_flag_would_be_caught() -> None:
    """The parse above is strict: an option the CLI does not have fails it."""
    with pytest.raises(Exception, match="No such option"):
        _parse(["promote", "churn", "7", "--no-such-flag"])
    with pytest.raises(Exception, match="valid integer"):
        _parse(["promote", "churn", "seven", "--check"])


def test_secrets_are_references_never_values(written: Path, monkeypatch) -> None:
    monkeypatch.setenv("MODELYARD_DB_URL", "postgresql://ci:hunter2@db/yard")
    github = yaml.safe_load(pipeline_files(SPEC, ["github"])[GITHUB_PATH])
    steps_env = [s.get("env", {}) for s in github["jobs"]["ship"]["steps"]]
    for name in SECRETS:
        assert {f"${{{{ secrets.{name} }}}}"} == {e[name] for e in steps_env if name in e}
    assert "hunter2" not in (written / GITHUB_PATH).read_text()
    gitlab = yaml.safe_load((written / GITLAB_PATH).read_text())
    assert not set(SECRETS) & set(gitlab["variables"])
    # only the steps that open the yard see them, never checkout or setup-python
    assert all("env" not in s for s in github["jobs"]["ship"]["steps"] if "uses" in s)


def test_the_train_command_and_gates_are_in_order(written: Path) -> None:
    github = yaml.safe_load((written / GITHUB_PATH).read_text())
    names = [s.get("name") for s in github["jobs"]["ship"]["steps"] if "name" in s]
    assert names == [
        "Install",
        "Train",
        "Drift gate",
        "Register",
        "Promotion gate",
        "Load-test gate",
        "Remove the load-test endpoint",
        "Canary rollout",
    ]
    assert "python ml/train.py --fast" in github["jobs"]["ship"]["steps"][3]["run"]
    gitlab = yaml.safe_load((written / GITLAB_PATH).read_text())
    assert gitlab["stages"] == ["train", "register", "loadtest", "rollout"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "Churn Model"}, "invalid model name"),
        ({"endpoint": "../x"}, "invalid endpoint name"),
        ({"train": "python a.py\nrm -rf /"}, "--train must be one non-empty command line"),
        ({"duration": "30"}, "--duration"),
        ({"users": 0}, "--users 0"),
        ({"max_error_rate": 2.0}, "--max-error-rate"),
        ({"branch": "main; curl x"}, "--branch"),
    ],
)
def test_bad_settings_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        Pipeline(**{"model": "churn", "endpoint": "churn-api", **change})


def test_an_unknown_provider_is_refused() -> None:
    with pytest.raises(InvalidInput, match="--provider jenkins: expected github or gitlab"):
        pipeline_files(SPEC, ["jenkins"])
