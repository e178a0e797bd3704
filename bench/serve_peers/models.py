"""The models every peer serves, fitted once per run of the bench, and what each peer needs
prepared from them: the pickle, the MLflow folder, the modelyard home, the request bodies."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from registry import venv_python

from serve_peers.common import APPS, YARD_VENV, say, server_env, tail
from serve_peers.kinds import Prepared
from serve_peers.load import body_for
from serve_peers.peers import PEERS, base_of, is_yard, protocol_of

MODELS = ("hgb", "logreg")
MODEL_TITLES = {
    "hgb": "HistGradientBoostingClassifier(max_iter=100, random_state=0)",
    "logreg": "StandardScaler + LogisticRegression(max_iter=1000)",
}
CEILING_ROWS = 64


def train(scratch: Path, models: list[str]) -> tuple[Any, dict[str, Path]]:
    import joblib
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame, target = load_breast_cancer(return_X_y=True, as_frame=True)
    made = {
        "hgb": lambda: HistGradientBoostingClassifier(max_iter=100, random_state=0),
        "logreg": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    }
    files = {}
    for name in models:
        model = made[name]().fit(frame, target)
        files[name] = scratch / f"{name}.joblib"
        joblib.dump(model, files[name])
    return frame, files


def in_process(model_file: Path, frame: Any, calls: int = 200) -> dict[str, float]:
    """The model half of the combined ceiling: ``predict_proba`` on a 64-row DataFrame (what
    the model was fitted on), median of ``calls`` calls, with the default native threads and
    with one (threadpoolctl); ``proba_64_rows_s`` is the faster of the two, what the model
    can do. For information also on a float64 array, and ``predict`` on 64 rows and 1 row."""
    import warnings

    import joblib
    from threadpoolctl import threadpool_limits

    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    model = joblib.load(model_file)
    result = {}
    head = frame.head(CEILING_ROWS)
    cases = (
        ("proba_64_default", model.predict_proba, head, None),
        ("proba_64_1thread", model.predict_proba, head, 1),
        ("proba_64_array", model.predict_proba, frame.to_numpy(dtype=float)[:CEILING_ROWS], None),
        ("predict_64", model.predict, head, None),
        ("predict_1", model.predict, frame.head(1), None),
    )
    for label, method, batch, threads in cases:
        with threadpool_limits(limits=threads):
            median = _median_call(method, batch, calls)
        result[f"{label}_ms"] = median * 1000
        result[f"{label}_rows_s"] = len(batch) / median
    best = max(("proba_64_default", "proba_64_1thread"), key=lambda k: result[f"{k}_rows_s"])
    result["proba_64_ms"] = result[f"{best}_ms"]
    result["proba_64_rows_s"] = result[f"{best}_rows_s"]
    return result


def _median_call(method: Any, batch: Any, calls: int) -> float:
    for _ in range(20):
        method(batch)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        method(batch)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def prepare(
    name: str, model_file: Path, frame: Any, venvs: dict[str, Path], scratch: Path
) -> tuple[Prepared, dict[str, str]]:
    """The MLflow folder, the modelyard home, the probabilities PyTriton's refit must match,
    and every peer's request bodies."""
    import joblib
    import numpy as np

    problems: dict[str, str] = {}
    model = joblib.load(model_file)
    proba_file = scratch / f"{name}-proba.npy"
    np.save(proba_file, model.predict_proba(frame.to_numpy(dtype=float)))
    prepared = Prepared(
        name,
        frame,
        model_file,
        proba_file,
        scratch / f"yard-{name}",
        scratch,
        venvs,
        [int(v) for v in model.predict(frame)],
    )
    if "mlflow" in venvs:
        prepared.mlflow_dir, problem = mlflow_folder(name, model, model_file, venvs, scratch)
        if problem:
            problems["mlflow"] = problem
    yard_home(prepared, model, frame)
    for peer in PEERS:
        if base_of(peer) in problems:
            continue
        for rows in (1, 100):
            if peer == "naive" and rows != 1:
                continue
            v2_name = "bench-api" if is_yard(peer) else "bench"
            body, length = body_for(peer, frame.head(rows), v2_name)
            path = scratch / f"body-{name}-{peer}-{rows}.bin"
            path.write_bytes(body)
            prepared.bodies[(peer, rows)] = path
            if protocol_of(peer) == "bin" and length is not None:
                prepared.header_lengths[(peer, rows)] = length
    return prepared, problems


def mlflow_folder(
    name: str, model: Any, model_file: Path, venvs: dict[str, Path], scratch: Path
) -> tuple[Path | None, str | None]:
    import skops.io

    # What MLflow's error message asks for: the types skops does not trust by default.
    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    folder = scratch / f"mlflow-{name}"
    done = subprocess.run(
        [
            str(venv_python(venvs["mlflow"])),
            str(APPS / "mlflow_save.py"),
            *(str(model_file), str(folder), *trusted),
        ],
        capture_output=True,
        text=True,
        env=server_env(venvs["mlflow"]),
        cwd=scratch,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        return None, f"save_model failed: {tail(done.stderr)}"
    say(f"{name}: MLflow model saved (skops_trusted_types={trusted})")
    return folder, None


def yard_home(prepared: Prepared, model: Any, frame: Any) -> None:
    from modelyard import Yard

    home = prepared.yard_home
    Yard(home).register(model, "bench", sample=frame)
    done = subprocess.run(
        [
            str(YARD_VENV / "bin" / "modelyard"),
            *("--home", str(home), "endpoint", "create", "bench-api", "--model", "bench@1"),
        ],
        capture_output=True,
        text=True,
        env=server_env(),
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"modelyard endpoint create failed: {tail(done.stdout + done.stderr)}")
    say(f"{prepared.model}: registered in a fresh modelyard home, endpoint bench-api -> bench@1")
