"""Read commands start fast because they never import the heavy half of the stack.

What a command imports is a property of the code, not of the machine: checked here
exactly, while the wall times live in bench/cli.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from modelyard.domain.signature import Signature
from modelyard.monitoring.recorder import Recorder
from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.runner import Output
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
    "fsspec",  # imported when a blob is read or written; read commands read none
    "locust",  # `loadtest` only: importing it monkey-patches the interpreter with gevent
    "gevent",
    "dask",  # the dask batch engine only, when it runs
    "distributed",
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
# A summary is read from stored windows: counts in numpy arrays, merged and tested for
# drift with numpy (monitoring/sketch.py, drift.py); nothing else heavy.
SUMMARY_HEAVY = ("numpy",)

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
    ["monitor", "--help"],
    ["monitor", "status", "--help"],
    ["loadtest", "--help"],
    ["deploy", "ci", "--help"],
]
SUMMARIES = [
    ["monitor", "status", "churn-api", "--json"],
    ["monitor", "status", "churn-api"],
]


@pytest.fixture(scope="module")
def home(
    tmp_path_factory: pytest.TempPathFactory,
    logreg: Pipeline,
    cancer: tuple[pd.DataFrame, pd.Series],
) -> Path:
    """A yard with an endpoint that served 300 rows a minute ago."""
    home = tmp_path_factory.mktemp("yard") / "home"
    X, _ = cancer
    with Yard(home) as yard:
        version = yard.register(logreg, "churn", sample=X)
        yard.set_alias("churn", "production", version.version)
        yard.create_endpoint("churn-api", "churn@production")
        rows = X.head(300)
        recorder = Recorder(yard)
        recorder.predicted(
            PredictionEvent(
                "churn-api",
                version.ref,
                from_frame(Signature.from_dict(version.signature), rows),
                Output(logreg.predict(rows), logreg.predict_proba(rows)),
                [uuid.uuid4().hex for _ in range(len(rows))],
                latency_ms=4.0,
                at=time.time() - 60,
                log_inputs=0.0,
            )
        )
        recorder.flush()
    return home


def _imports(home: Path, command: list[str]) -> tuple[dict[str, Any], str]:
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
    return result, done.stdout


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_a_read_command_imports_nothing_heavy(home: Path, command: list[str]) -> None:
    result, _ = _imports(home, command)
    assert result["heavy"] == [], f"{' '.join(command)} imported {result['heavy']}"


@pytest.mark.parametrize("command", SUMMARIES, ids=" ".join)
def test_a_summary_of_stored_windows_imports_numpy_alone(home: Path, command: list[str]) -> None:
    result, shown = _imports(home, command)
    assert "300" in shown, shown  # the rows served: the summary read the window
    if "--json" in command:
        (version,) = json.loads(shown)["versions"]
        assert version["drift"]["features"], "drift was not computed"
    heavy = [m for m in result["heavy"] if m not in SUMMARY_HEAVY]
    assert heavy == [], f"{' '.join(command)} imported {heavy}"
