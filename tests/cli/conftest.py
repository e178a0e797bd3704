"""Running the real command line in-process (CliRunner) against a yard in a temp folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from modelyard.cli.app import app

Invoke = Callable[..., Result]


@pytest.fixture
def cli(tmp_path: Path) -> Invoke:
    runner = CliRunner()
    home = tmp_path / "home"

    def invoke(*args: str) -> Result:
        return runner.invoke(app, ["--home", str(home), "--actor", "cli-tester", *args])

    return invoke


def assert_one_line_error(result: Result, code: int, match: str) -> None:
    """A user's mistake: non-zero exit, one line naming the problem, no traceback."""
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert lines, "no error message"
    text = " ".join(lines)
    assert "Traceback" not in result.output
    assert match in text, text
    assert text.startswith("error:"), text


def run_modelyard(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI as its own process, stdout and stderr piped: what a script or `| grep` sees."""
    code = "from modelyard.cli.app import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
