"""One measurement of ``bench/registry.py``, run in a fresh process by the orchestrator.

    python bench/_registry_worker.py {modelyard|mlflow} --model M.joblib --home DIR --out R.json

The same file runs under the project's virtualenv (modelyard) and under
``bench/.venvs/mlflow`` (MLflow), so it imports each library only inside its own function.
Before any clock starts it imports the stack both peers share (numpy, pandas, scikit-learn,
joblib), loads the bundled breast-cancer data and unpickles the model the orchestrator
trained, so the phases below time the registry library and nothing else:

    import    importing the library (modelyard's ``Yard``; ``mlflow`` and ``mlflow.sklearn``)
    open      opening a new SQLite store in ``--home`` (tables created, migrations run)
    register  saving the model as version 1 of ``churn`` in that store
    load      loading version 1 back and predicting 64 rows

Each phase starts after an untimed ``gc.collect()``, so a collection of the previous
phase's garbage does not land in the next one's figure (it did, by chance, in modelyard's
load: a full collection of ~220,000 objects inside skops' load cost about 0.1 s).
The result (timings, the 64 predictions, versions, bytes stored) goes to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

MODEL_NAME = "churn"
PREDICT_ROWS = 64
# MLflow 3.x saves scikit-learn models with skops by default and refuses to log a
# RandomForest until the tree type is trusted; its error message names this argument.
MLFLOW_TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]
SHARED_PACKAGES = ("numpy", "pandas", "scikit-learn", "joblib", "skops")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _stored_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _clock() -> float:
    """Start a phase with no garbage left from the one before (collected untimed)."""
    gc.collect()
    return time.perf_counter()


def measure_modelyard(model: Any, frame: Any, home: Path) -> dict[str, Any]:
    timings: dict[str, float] = {}

    start = _clock()
    from modelyard import Yard  # the package is lazy: this is what loads the yard

    timings["import"] = time.perf_counter() - start

    start = _clock()
    yard = Yard(home / "yard")
    timings["open"] = time.perf_counter() - start

    start = _clock()
    version = yard.register(model, MODEL_NAME, sample=frame)
    timings["register"] = time.perf_counter() - start
    if version.version != 1:
        raise RuntimeError(f"expected version 1 in a new yard, got {version.ref}")

    start = _clock()
    predictor = yard.load(f"{MODEL_NAME}@1")
    predictions = predictor.predict(frame.head(PREDICT_ROWS))
    timings["load"] = time.perf_counter() - start
    yard.close()

    return {
        "timings": timings,
        "predictions": [int(p) for p in predictions],
        "library": {"modelyard": _version("modelyard")},
        "serialization": "skops, trusted types computed and recorded at registration",
    }


def measure_mlflow(model: Any, frame: Any, home: Path) -> dict[str, Any]:
    timings: dict[str, float] = {}

    start = _clock()
    import mlflow
    import mlflow.sklearn

    timings["import"] = time.perf_counter() - start

    start = _clock()
    mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow.db'}")
    mlflow.MlflowClient()  # builds (and caches) the SQLAlchemy store: tables, migrations
    timings["open"] = time.perf_counter() - start

    start = _clock()
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        registered_model_name=MODEL_NAME,
        skops_trusted_types=MLFLOW_TRUSTED_TYPES,
    )
    timings["register"] = time.perf_counter() - start
    if str(info.registered_model_version) != "1":
        raise RuntimeError(f"expected version 1, got {info.registered_model_version}")

    start = _clock()
    loaded = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}/1")
    predictions = loaded.predict(frame.head(PREDICT_ROWS))
    timings["load"] = time.perf_counter() - start

    return {
        "timings": timings,
        "predictions": [int(p) for p in predictions],
        "library": {"mlflow": _version("mlflow")},
        "serialization": f"skops, skops_trusted_types={MLFLOW_TRUSTED_TYPES}",
    }


PEERS = {"modelyard": measure_modelyard, "mlflow": measure_mlflow}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peer", choices=sorted(PEERS))
    parser.add_argument("--model", type=Path, required=True, help="joblib file of the model")
    parser.add_argument("--home", type=Path, required=True, help="an empty folder to write in")
    parser.add_argument("--out", type=Path, required=True, help="where the JSON result goes")
    args = parser.parse_args()

    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.chdir(home)  # MLflow puts artifacts under ./mlruns; keep everything inside --home

    start = time.perf_counter()
    import joblib
    from sklearn.datasets import load_breast_cancer

    frame, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    model = joblib.load(args.model)
    setup = time.perf_counter() - start

    result = PEERS[args.peer](model, frame, home)
    result["timings"]["register+load"] = result["timings"]["register"] + result["timings"]["load"]
    result["setup_seconds"] = setup
    result["stored_bytes"] = _stored_bytes(home)
    result["python"] = platform.python_version()
    result["executable"] = sys.executable
    result["library"].update({name: _version(name) for name in SHARED_PACKAGES})
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
