"""How long a command takes to answer, from a fresh process: modelyard's read commands beside
MLflow's CLI and two floors (an empty Python, and the libraries every command needs).

Each measurement is a new process, timed from spawn to exit; peers are interleaved, so a
busy machine slows all of them alike, and the table gives medians, ranges and the ratio of
each median to the floor of `python -c pass` in the same run, and the median CPU time
(user + system) of each process, which waiting for a shared core does not inflate. Nothing
here asserts a time.

    .venv/bin/python bench/cli.py               # 7 runs per command after one warm-up
    .venv/bin/python bench/cli.py --runs 15
    .venv/bin/python bench/cli.py --skip-mlflow
    .venv/bin/python bench/cli.py --baseline /tmp/main/src   # also another checkout's src/

The yard it reads holds 20 versions of a scikit-learn model, an alias and an endpoint with
an hour of recorded traffic, built once in a temporary folder. MLflow runs in the same
virtualenv as bench/registry.py (`bench/.venvs/mlflow`, built there when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from registry import MLFLOW_VENV, build_venv, machine, mlflow_pins, venv_python

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "cli.json"
BIN = Path(sys.executable).parent
MODELYARD_READS = (
    ("modelyard --help", ["--help"]),
    ("modelyard --version", ["--version"]),
    ("modelyard models list", ["models", "list"]),
    ("modelyard models show churn", ["models", "show", "churn"]),
    ("modelyard alias show churn", ["alias", "show", "churn"]),
    ("modelyard endpoint list", ["endpoint", "list"]),
    ("modelyard monitor status churn-api --json", ["monitor", "status", "churn-api", "--json"]),
)


def say(message: str) -> None:
    print(f"[cli] {message}", flush=True)


def build_yard(home: Path) -> None:
    """20 versions, an alias and an endpoint with an hour of recorded traffic."""
    code = """
import sys, time, uuid
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from modelyard import Yard
from modelyard.domain.signature import Signature
from modelyard.monitoring.recorder import Recorder
from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.runner import Output

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
with Yard(sys.argv[1], actor="bench") as yard:
    for seed in range(20):
        model = LogisticRegression(max_iter=500, C=1.0 + seed).fit(X, y)
        version = yard.register(model, "churn", sample=X.head(200))
    yard.set_alias("churn", "production", version.version)
    yard.create_endpoint("churn-api", "churn@production")
    signature = Signature.from_dict(version.signature)
    now = time.time()
    for minute in range(0, 60, 5):  # an hour of traffic, 100 rows every five minutes
        stamp = now - 3600 + minute * 60
        rows = X.sample(100, random_state=minute)
        recorder = Recorder(yard, clock=lambda: stamp)
        recorder.predicted(
            PredictionEvent(
                "churn-api", version.ref, from_frame(signature, rows),
                Output(model.predict(rows), model.predict_proba(rows)),
                [uuid.uuid4().hex for _ in range(len(rows))],
                latency_ms=4.0, at=stamp, log_inputs=0.0,
            )
        )
        recorder.flush()
"""
    subprocess.run([sys.executable, "-c", code, str(home)], check=True)


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds from spawn to exit, and the CPU seconds the process used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu


def commands(home: Path, mlflow: Path | None, baseline: Path | None = None) -> dict[str, list[str]]:
    python = str(sys.executable)
    found = {
        "python -c pass (floor)": [python, "-c", "pass"],
        "import sqlalchemy, typer, rich (floor)": [
            python,
            "-c",
            "import sqlalchemy.orm, typer, rich.table, pydantic_settings",
        ],
    }
    for label, args in MODELYARD_READS:
        found[label] = [str(BIN / "modelyard"), "--home", str(home), *args]
    if baseline is not None:  # the same commands from another source tree, same libraries
        code = (
            f"import sys; sys.path.insert(0, {str(baseline)!r}); "
            "from modelyard.cli.app import main; main()"
        )
        for label, args in MODELYARD_READS:
            found[f"{label} (baseline)"] = [python, "-c", code, "--home", str(home), *args]
    if mlflow is not None:
        found["mlflow --version"] = [str(mlflow / "bin" / "mlflow"), "--version"]
        found["mlflow models --help"] = [str(mlflow / "bin" / "mlflow"), "models", "--help"]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument(
        "--baseline", type=Path, help="a src/ folder to time as well (e.g. main's, for a before)"
    )
    options = parser.parse_args()
    mlflow: Path | None = None
    if not options.skip_mlflow:
        mlflow, why = build_venv(MLFLOW_VENV, mlflow_pins(), "MLflow", say)
        if mlflow is None or not venv_python(mlflow).exists():
            say(f"MLflow not measured: {why}")
            mlflow = None
    scratch = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        home = scratch / "yard"
        say("building a yard of 20 versions")
        build_yard(home)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{scratch / 'mlflow.db'}"
        found = commands(home, mlflow, options.baseline)
        for argv in found.values():  # warm-up: page cache, bytecode, first migration
            timed(argv, env)
        samples: dict[str, list[float]] = {label: [] for label in found}
        cpus: dict[str, list[float]] = {label: [] for label in found}
        for _ in range(options.runs):
            for label, argv in found.items():
                wall, cpu = timed(argv, env)
                samples[label].append(wall)
                cpus[label].append(cpu)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    floor = statistics.median(samples["python -c pass (floor)"])
    rows: list[dict[str, Any]] = []
    print(f"\n{'command':<46} {'median s':>9} {'range s':>15} {'× floor':>8} {'CPU s':>7}")
    for label, values in samples.items():
        median = statistics.median(values)
        cpu = statistics.median(cpus[label])
        rows.append({"command": label, "median_s": median, "runs_s": values, "cpu_s": cpus[label]})
        spread = f"{min(values):.3f}–{max(values):.3f}"
        print(f"{label:<46} {median:>9.3f} {spread:>15} {median / floor:>8.1f} {cpu:>7.3f}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": machine(), "runs": rows}, indent=2))
    say(f"wrote {RESULTS.relative_to(BENCH.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
