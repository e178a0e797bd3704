"""The command line as a script or a pipe sees it: whole cells, plain flags, one error line."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from sklearn.pipeline import Pipeline

from modelyard.cli.app import app
from modelyard.yard import Yard
from tests.cli.conftest import Invoke, run_modelyard

LONG_NAME = "customer-churn-propensity-gradient-boosted-with-calibration-q3"


# Typer vendors its own click: commands and options are told apart by what they have.
def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            found += _commands(sub, (*path, name))
    return found


def test_piped_tables_keep_every_cell_whole(tmp_path: Path, logreg: Pipeline) -> None:
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(logreg, LONG_NAME, description="the quarterly model, calibrated " * 3)
    done = run_modelyard("--home", str(home), "models", "list")
    assert done.returncode == 0, done.stderr
    assert LONG_NAME in done.stdout
    assert "…" not in done.stdout


def test_help_shows_flags_as_flags_and_never_cuts_a_line(cli: Invoke) -> None:
    root = typer.main.get_command(app)
    for path in _commands(root):
        shown = cli(*path, "--help")
        assert shown.exit_code == 0, (path, shown.output)
        assert "<bool>" not in shown.output, path
        assert not re.search(r"\w…", shown.output), path  # a cut word; "2 … 1000" is a range
    options = [
        param
        for path in _commands(root)
        for param in _command_at(root, path).params
        if getattr(param, "is_bool_flag", False)
    ]
    assert len(options) > 20, "the flags were not found"
    twins = [o.opts + o.secondary_opts for o in options if o.secondary_opts]
    assert twins == [], f"flags with an on/off pair no one asked for: {twins}"
    predict_help = cli("predict", "--help").output
    assert "Rows to score (.parquet or .csv)." in predict_help


def _command_at(root: Any, path: tuple[str, ...]) -> Any:
    command = root
    for name in path:
        command = command.commands[name]
    return command


def test_version_prints_the_installed_release() -> None:
    done = run_modelyard("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"modelyard {version('modelyard')}\n"


def test_a_missing_input_is_one_error_line_and_nothing_before_it(
    tmp_path: Path, logreg: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(logreg, "cancer", sample=cancer[0].head(50))
    done = run_modelyard(
        "--home", str(home), "predict", "cancer@1", "-i", "nowhere.csv", "-o", "out.csv"
    )
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["error: nowhere.csv: no such file"]
