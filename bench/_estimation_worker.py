"""NannyML's CBPE and DLE on the chunks bench/estimation.py wrote (run in NannyML's venv).

python _estimation_worker.py DATA_DIR CHUNK_SIZE [DLE_REPEATS]  → JSON on stdout

DLE's ``estimate`` runs DLE_REPEATS times (default 1); its time is the median run, as
modelyard's side takes the median of repeated timings (a shared machine's hiccups fall
on either tool's single run).
"""

import json
import statistics
import sys
import time
from pathlib import Path

import nannyml as nml
import pandas as pd


def _values(result, metrics):
    frame = result.filter(period="analysis").to_df()
    return {m: frame[(m, "value")].astype(float).tolist() for m in metrics}


def main() -> None:
    data, size = Path(sys.argv[1]), int(sys.argv[2])
    dle_repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    out = {}
    reference = pd.read_csv(data / "cls_reference.csv")
    analysis = pd.read_csv(data / "cls_analysis.csv")
    metrics = ["accuracy", "f1", "roc_auc"]
    started = time.perf_counter()
    cbpe = nml.CBPE(
        problem_type="classification_binary",
        y_pred_proba="proba",
        y_pred="pred",
        y_true="y",
        metrics=metrics,
        chunk_size=size,
    )
    cbpe.fit(reference)
    fitted = time.perf_counter()
    result = cbpe.estimate(analysis)
    done = time.perf_counter()
    out["cbpe"] = {
        "estimates": _values(result, metrics),
        "fit_s": fitted - started,
        "estimate_s": done - fitted,
    }
    reference = pd.read_csv(data / "reg_reference.csv")
    analysis = pd.read_csv(data / "reg_analysis.csv")
    started = time.perf_counter()
    dle = nml.DLE(
        feature_column_names=["a", "b", "c"],
        y_pred="pred",
        y_true="y",
        metrics=["mae", "rmse"],
        chunk_size=size,
    )
    dle.fit(reference)
    fitted = time.perf_counter()
    runs = []
    for _ in range(dle_repeats):
        begun = time.perf_counter()
        result = dle.estimate(analysis)
        runs.append(time.perf_counter() - begun)
    out["dle"] = {
        "estimates": _values(result, ["mae", "rmse"]),
        "fit_s": fitted - started,
        "estimate_s": statistics.median(runs),
        "estimate_runs_s": runs,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
