"""Read commands start fast because they never import the heavy half of the stack.

What a command imports is a property of the code, not of the machine: checked here
exactly, while the wall times live in bench/cli.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.pipeline import Pipeline

from modelyard.yard import Yard

HEAVY = (
    "numpy",
    "pandas",
    "scipy",
    "sklearn",
    "alembic",
    "pyarrow",
    "skops",
    "plotly",
    "yaml",  # read by `import mlflow` only
    "mlflow",  # never imported: MLflow folders are read without it
    "locust",  # `loadtest` only: importing it monkey-patches the interpreter with gevent
    "gevent",
)
PROBE = """
import json, sys
watched = json.loads(sys.argv[2])
sys.argv = ["modelyard", *json.loads(sys.argv[1])]
from modelyard.cli.app import main
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
heavy = sorted(m for m in watched if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""

READ_COMMANDS = [
    ["--help"],
    ["--version"],
    ["models", "list"],
    ["models", "list", "--json"],
    ["models", "show", "churn"],
    ["alias", "show", "churn"],
    ["alias", "history", "churn"],
    ["endpoint", "list"],
    ["endpoint", "show", "churn-api"],
    ["keys", "list"],
    ["audit"],
    ["predict", "--help"],
    ["import", "mlflow", "--help"],
    ["loadtest", "--help"],
    ["deploy", "ci", "--help"],
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, logreg: Pipeline) -> Path:
    home = tmp_path_factory.mktemp("yard") / "home"
    with Yard(home) as yard:
        version = yard.register(logreg, "churn")
        yard.set_alias("churn", "production", version.version)
        yard.create_endpoint("churn-api", "churn@production")
    return home


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_a_read_command_imports_nothing_heavy(home: Path, command: list[str]) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            json.dumps(["--home", str(home), *command]),
            json.dumps(HEAVY),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    result = json.loads(done.stderr.strip().splitlines()[-1])
    assert result["code"] in (0, None), done.stderr
    assert result["heavy"] == [], f"{' '.join(command)} imported {result['heavy']}"
