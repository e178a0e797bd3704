"""Register and load back one scikit-learn model: modelyard against MLflow, in the same run.

    .venv/bin/python bench/registry.py [--runs 5] [--warmup 1] [--skip-mlflow]

A RandomForestClassifier(n_estimators=100, random_state=0) is trained once on scikit-learn's
bundled breast-cancer data (a DataFrame) and pickled with joblib to a temporary file. Every
measurement is then a fresh process (``bench/_registry_worker.py``) that unpickles that same
model, opens a new SQLite store in a new temporary folder, registers the model as version 1
of ``churn``, loads it back and predicts 64 rows. The peers run interleaved (modelyard,
MLflow, modelyard, MLflow, …) after one discarded warm-up each, and the table gives the
median and the range of each phase and the ratio of the medians, MLflow / modelyard (above 1
means modelyard is faster). The same figures, with every run, go to
``bench/results/registry.json``.

MLflow runs in its own virtualenv, ``bench/.venvs/mlflow``, created here when it is missing
(or when its pins no longer match), with scikit-learn, numpy, pandas, joblib and skops pinned
to the versions of the environment running this script, so both peers unpickle, serialise
and predict with the same libraries. If MLflow cannot be installed or run, the script says so
and still reports modelyard's figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
WORKER = BENCH / "_registry_worker.py"
RESULTS = BENCH / "results" / "registry.json"
MLFLOW_VENV = BENCH / ".venvs" / "mlflow"
MLFLOW_VERSION = "3.17.2"
# Shared with the project's environment, so both peers run the very same stack.
SHARED = ("scikit-learn", "numpy", "pandas", "joblib", "skops")
PHASES = ("import", "open", "register", "load", "register+load", "process")
PEERS = ("modelyard", "mlflow")
PREDICT_ROWS = 64
WORKER_TIMEOUT = 600
PIP_TIMEOUT = 1800


def say(message: str) -> None:
    print(f"[registry] {message}", flush=True)


# -- the MLflow virtualenv ----------------------------------------------------------------


def mlflow_pins() -> list[str]:
    return [f"mlflow=={MLFLOW_VERSION}"] + [f"{name}=={metadata.version(name)}" for name in SHARED]


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def build_venv(
    venv: Path, pins: list[str], label: str, report: Callable[[str], None]
) -> tuple[Path | None, str | None]:
    """A peer's virtualenv folder with exactly ``pins``, or None and why it cannot be had.

    Built only when missing or when its pins changed (recorded in ``.bench-pins``); shared by
    every bench in this folder.
    """
    marker = venv / ".bench-pins"
    python = venv_python(venv)
    wanted = "\n".join(pins) + "\n"
    where = venv.relative_to(BENCH.parent)
    if python.exists() and marker.exists() and marker.read_text(encoding="utf-8") == wanted:
        report(f"{label} virtualenv present: {where}")
        return venv, None
    if venv.exists():
        report(f"{where} is incomplete or has other pins; rebuilding")
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    report(f"creating {where} with {sys.executable} -m venv")
    done = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return None, f"`python -m venv` failed: {_tail(done.stderr)}"
    log = venv / "pip-install.log"
    report(f"pip install {' '.join(pins)}  (a few minutes; log: {log})")
    started = time.perf_counter()
    try:
        with log.open("w", encoding="utf-8") as out:
            done = subprocess.run(
                [str(python), "-m", "pip", "install", "--disable-pip-version-check", *pins],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=PIP_TIMEOUT,
                check=False,
            )
    except subprocess.TimeoutExpired:
        return None, f"pip install did not finish in {PIP_TIMEOUT} s (see {log})"
    if done.returncode != 0:
        return None, f"pip install failed (exit {done.returncode}): {_tail(log.read_text())}"
    report(f"{label}: installed in {time.perf_counter() - started:.0f} s")
    marker.write_text(wanted, encoding="utf-8")
    return venv, None


def check_mlflow(python: Path) -> str | None:
    """None when MLflow imports in its virtualenv, else why not."""
    done = subprocess.run(
        [str(python), "-c", "import mlflow, mlflow.sklearn; print(mlflow.__version__)"],
        capture_output=True,
        text=True,
        env=worker_env(),
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        return f"`import mlflow` fails in {MLFLOW_VENV}: {_tail(done.stderr)}"
    say(f"MLflow {done.stdout.strip()} imports")
    return None


# -- measuring ----------------------------------------------------------------------------


def worker_env() -> dict[str, str]:
    """This environment minus anything that would point either peer at another store."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MODELYARD_", "MLFLOW_"))
        and key not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }
    # No network here, and none wanted: MLflow 3.x sends usage telemetry unless told not to.
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "true"
    return env


def measure(python: Path, peer: str, model_file: Path, scratch: Path, tag: str) -> dict[str, Any]:
    home = scratch / f"{tag}-{peer}"
    out = scratch / f"{tag}-{peer}.json"
    home.mkdir()
    command = [str(python), str(WORKER), peer, "--model", str(model_file)]
    command += ["--home", str(home), "--out", str(out)]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=home,
            env=worker_env(),
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise MeasurementError(f"{peer}: no result within {WORKER_TIMEOUT} s") from None
    wall = time.perf_counter() - started
    shutil.rmtree(home, ignore_errors=True)
    if done.returncode != 0 or not out.exists():
        raise MeasurementError(f"{peer} worker exited {done.returncode}: {_tail(done.stderr)}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["timings"]["process"] = wall
    return result


class MeasurementError(RuntimeError):
    pass


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    summary = {}
    for phase in PHASES:
        values = [run["timings"][phase] for run in runs]
        summary[phase] = {
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
        }
    return summary


# -- reporting ----------------------------------------------------------------------------


def table(summaries: dict[str, dict[str, dict[str, float]]], ratios: dict[str, float]) -> str:
    def cell(peer: str, phase: str) -> str:
        if peer not in summaries:
            return "n/a"
        s = summaries[peer][phase]
        return f"{s['median']:.3f} [{s['min']:.3f}–{s['max']:.3f}]"

    rows = [
        (
            "phase (seconds)",
            "modelyard median [min–max]",
            "mlflow median [min–max]",
            "mlflow/modelyard",
        )
    ]
    for phase in PHASES:
        ratio = f"{ratios[phase]:.2f}×" if phase in ratios else "n/a"
        rows.append((phase, cell("modelyard", phase), cell("mlflow", phase), ratio))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = round(pages / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def _tail(text: str, lines: int = 15) -> str:
    kept = [line[:300] for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n    " + "\n    ".join(kept) if kept else "(no output)"


# -- main ---------------------------------------------------------------------------------


def train(scratch: Path) -> tuple[Path, list[int]]:
    import joblib
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    frame, target = load_breast_cancer(return_X_y=True, as_frame=True)
    model = RandomForestClassifier(n_estimators=100, random_state=0).fit(frame, target)
    path = scratch / "model.joblib"
    joblib.dump(model, path)
    expected = [int(p) for p in model.predict(frame.head(PREDICT_ROWS))]
    return path, expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per peer (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded runs per peer first")
    parser.add_argument("--skip-mlflow", action="store_true", help="measure modelyard only")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")

    say(f"machine: {machine()}")
    pins = mlflow_pins()
    pythons: dict[str, Path] = {"modelyard": Path(sys.executable)}
    mlflow_problem: str | None = "skipped (--skip-mlflow)" if args.skip_mlflow else None
    if not args.skip_mlflow:
        venv, mlflow_problem = build_venv(MLFLOW_VENV, pins, "MLflow", say)
        python = venv_python(venv) if venv is not None else None
        if python is not None:
            mlflow_problem = check_mlflow(python)
        if mlflow_problem is None and python is not None:
            pythons["mlflow"] = python
        else:
            say(f"MLFLOW UNAVAILABLE, reporting modelyard only: {mlflow_problem}")

    runs: dict[str, list[dict[str, Any]]] = {peer: [] for peer in pythons}
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmp:
        scratch = Path(tmp)
        say("training RandomForestClassifier(n_estimators=100, random_state=0) on breast cancer")
        model_file, expected = train(scratch)
        schedule = [("warmup", i) for i in range(args.warmup)]
        schedule += [("run", i) for i in range(args.runs)]
        for kind, i in schedule:
            for peer in list(pythons):
                try:
                    result = measure(pythons[peer], peer, model_file, scratch, f"{kind}{i}")
                    if result["predictions"] != expected:
                        raise MeasurementError(f"{peer}: predictions differ from the model's own")
                except MeasurementError as exc:
                    if peer != "mlflow":
                        raise
                    mlflow_problem = str(exc)
                    say(f"MLFLOW FAILED, dropping it and reporting modelyard only: {exc}")
                    del pythons[peer]
                    runs.pop(peer, None)
                    continue
                t = result["timings"]
                say(
                    f"{kind} {i + 1} {peer:9} register {t['register']:.3f} s  "
                    f"load {t['load']:.3f} s  process {t['process']:.3f} s"
                )
                if kind == "run":
                    runs[peer].append(result)

    summaries = {peer: summarise(results) for peer, results in runs.items() if results}
    ratios: dict[str, float] = {}
    if "mlflow" in summaries:
        for phase in PHASES:
            ratios[phase] = (
                summaries["mlflow"][phase]["median"] / summaries["modelyard"][phase]["median"]
            )

    print()
    print(f"registry bench: {args.runs} runs per peer, medians, ratio = mlflow / modelyard")
    print(table(summaries, ratios))
    for peer, results in runs.items():
        if results:
            stored = statistics.median(r["stored_bytes"] for r in results)
            print(f"{peer}: {results[0]['serialization']}; {stored / 1e6:.1f} MB stored")
    if mlflow_problem is not None:
        print(f"MLflow not measured: {mlflow_problem}")

    report = {
        "benchmark": "registry",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python bench/registry.py", *sys.argv[1:]]),
        "machine": machine(),
        "model": "RandomForestClassifier(n_estimators=100, random_state=0), breast cancer",
        "predict_rows": PREDICT_ROWS,
        "runs_per_peer": args.runs,
        "warmup_per_peer": args.warmup,
        "order": "interleaved: " + ", ".join(pythons) + ", … (one fresh process each)",
        "mlflow_pins": pins,
        "mlflow_problem": mlflow_problem,
        "peers": {
            peer: {
                "library": results[0]["library"],
                "serialization": results[0]["serialization"],
                "summary": summaries[peer],
                "runs": [
                    {
                        "timings": r["timings"],
                        "setup_seconds": r["setup_seconds"],
                        "stored_bytes": r["stored_bytes"],
                    }
                    for r in results
                ],
            }
            for peer, results in runs.items()
            if results
        },
        "ratio_mlflow_over_modelyard": ratios,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
