"""Performance estimated without labels: modelyard against NannyML on the same chunks.

    .venv/bin/python bench/estimation.py [--nannyml-python PATH] [--chunks 20] [--size 2000]

A covariate-shift scenario with known ground truth, made here with numpy (no downloads):
three features, the first moving from its training mean towards (and past) the decision
boundary chunk after chunk while P(y | x) stays the same. A binary LogisticRegression is
estimated with CBPE, a LinearRegression whose noise grows with |x0| with DLE. Both tools fit
on the same labelled reference (20,000 rows) and estimate the same chunks; the table gives
each tool's mean absolute error against the realized metric per chunk, and the time to
estimate one chunk (modelyard: calibrate + count the window's sketch + estimate from it,
the recorder's and summary's path; for DLE: build the nanny's matrix, run the nanny as the
recorder runs it (lookup tables, ``tree_tables``) and sum the window's losses; NannyML:
``estimate`` over all chunks ÷ chunks). DLE is timed ``--repeat`` times on both sides (each
chunk's whole path for modelyard, the whole ``estimate`` for NannyML) and the median
taken, so one hiccup of a shared machine does not decide the ratio. The DLE row "trees
walked" times the same nanny through scikit-learn's own ``predict``, for comparison.

NannyML runs in its own virtualenv (``bench/.venvs/nannyml``, nannyml 0.13.1 with
statsmodels, which it imports without declaring it), or the interpreter given.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from registry import build_venv, venv_python
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score

from modelyard.monitoring.estimation import calibrate, estimate, fit_reference, sketch_of
from modelyard.monitoring.loss_estimation import LossSums, fit_nanny, nanny_inputs
from modelyard.monitoring.tree_tables import fast_predictor

BENCH = Path(__file__).resolve().parent
NANNYML_VENV = BENCH / ".venvs" / "nannyml"
PINS = ["nannyml==0.13.1", "statsmodels"]


def classification(n: int, shift: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(0.0, 1.0, (n, 3))
    x[:, 0] += 2.0 - shift
    p = 1 / (1 + np.exp(-(2.0 * x[:, 0] - 2.0 + 0.5 * x[:, 1])))
    return x, (rng.uniform(size=n) < p).astype(int)


def regression(n: int, shift: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(0.0, 1.0, (n, 3))
    x[:, 0] += shift
    return x, 3 * x[:, 0] - x[:, 1] + rng.normal(0.0, 0.2 + np.abs(x[:, 0]), n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nannyml-python", type=Path, default=None)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261204, help="another draw of the data")
    parser.add_argument("--repeat", type=int, default=5, help="timings of DLE per chunk")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    shifts = np.linspace(0.0, 1.5, args.chunks)
    data = Path(tempfile.mkdtemp(prefix="estimation-bench-"))

    # -- classification, CBPE
    model = LogisticRegression().fit(*classification(20_000, 0.0, rng))
    x_ref, y_ref = classification(20_000, 0.0, rng)
    chunks = [classification(args.size, s, rng) for s in shifts]
    proba_ref = model.predict_proba(x_ref)
    started = time.perf_counter()
    reference = fit_reference(proba_ref, y_ref, ["0", "1"])
    cls_fit = time.perf_counter() - started
    ours: dict[str, list[float]] = {m: [] for m in ("accuracy", "f1", "roc_auc")}
    real: dict[str, list[float]] = {m: [] for m in ours}
    # The realized metric's own sampling spread on a chunk (its standard error): an
    # estimate cannot be judged closer to the truth than that.
    floor: dict[str, list[float]] = {"accuracy": [], "mae": [], "rmse": []}
    cls_time = []
    for x, y in chunks:
        proba = model.predict_proba(x)
        started = time.perf_counter()
        values = estimate(sketch_of(calibrate(proba, reference["calibration"])))
        cls_time.append(time.perf_counter() - started)
        for m, found in ours.items():
            found.append(float(values[m]))  # type: ignore[arg-type]
        pred = proba.argmax(axis=1)
        real["accuracy"].append(float((pred == y).mean()))
        hit = (pred == y).astype(float)
        floor["accuracy"].append(float(hit.std() / np.sqrt(hit.size)))
        real["f1"].append(float(f1_score(y, pred)))
        real["roc_auc"].append(float(roc_auc_score(y, proba[:, 1])))
    frame = lambda x, proba, y: pd.DataFrame(  # noqa: E731
        {"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "proba": proba[:, 1],
         "pred": proba.argmax(axis=1), **({"y": y} if y is not None else {})}
    )  # fmt: skip
    frame(x_ref, proba_ref, y_ref).to_csv(data / "cls_reference.csv", index=False)
    pd.concat([frame(x, model.predict_proba(x), None) for x, _ in chunks]).to_csv(
        data / "cls_analysis.csv", index=False
    )

    # -- regression, DLE
    regressor = LinearRegression().fit(*regression(20_000, 0.0, rng))
    x_ref, y_ref = regression(20_000, 0.0, rng)
    rchunks = [regression(args.size, s, rng) for s in shifts]
    names = ["a", "b", "c"]
    columns = lambda x: {n: x[:, i] for i, n in enumerate(names)}  # noqa: E731
    pred_ref = regressor.predict(x_ref)
    started = time.perf_counter()
    nanny, _ = fit_nanny(nanny_inputs(columns(x_ref), names, pred_ref), pred_ref - y_ref)
    live_nanny = fast_predictor(nanny)  # what the recorder loads
    reg_fit = time.perf_counter() - started
    ours_reg: dict[str, list[float]] = {"mae": [], "rmse": []}
    real_reg: dict[str, list[float]] = {"mae": [], "rmse": []}
    reg_time, walked_time = [], []
    for x, y in rchunks:
        pred = regressor.predict(x)
        for _ in range(args.repeat):
            started = time.perf_counter()
            sums = LossSums()
            sums.add(np.asarray(live_nanny.predict(nanny_inputs(columns(x), names, pred))))
            values = sums.values()
            reg_time.append(time.perf_counter() - started)
            started = time.perf_counter()
            walked = LossSums()
            walked.add(np.asarray(nanny.predict(nanny_inputs(columns(x), names, pred))))
            walked_time.append(time.perf_counter() - started)
        assert np.allclose(list(walked.values().values()), list(values.values()), rtol=1e-9)
        for m, found in ours_reg.items():
            found.append(float(values[m]))  # type: ignore[arg-type]
        real_reg["mae"].append(float(np.abs(pred - y).mean()))
        real_reg["rmse"].append(float(np.sqrt(((pred - y) ** 2).mean())))
        error = pred - y
        floor["mae"].append(float(np.abs(error).std() / np.sqrt(error.size)))
        squared = error**2  # delta method: se(sqrt(m)) = se(m) / (2 sqrt(m))
        floor["rmse"].append(
            float(squared.std() / np.sqrt(error.size) / (2 * np.sqrt(squared.mean())))
        )
    rframe = lambda x, pred, y: pd.DataFrame(  # noqa: E731
        {"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "pred": pred,
         **({"y": y} if y is not None else {})}
    )  # fmt: skip
    rframe(x_ref, pred_ref, y_ref).to_csv(data / "reg_reference.csv", index=False)
    pd.concat([rframe(x, regressor.predict(x), None) for x, _ in rchunks]).to_csv(
        data / "reg_analysis.csv", index=False
    )

    # -- NannyML on the same chunks
    python = args.nannyml_python
    if python is None:
        venv, why = build_venv(NANNYML_VENV, PINS, "NannyML", print)
        if venv is None:
            sys.exit(f"NannyML unavailable: {why}")
        python = venv_python(venv)
    done = subprocess.run(
        [str(python), str(BENCH / "_estimation_worker.py"), str(data), str(args.size),
         str(args.repeat)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    theirs = json.loads(done.stdout.strip().splitlines()[-1])

    def mae(a: list[float], b: list[float]) -> float:
        return float(np.mean(np.abs(np.asarray(a) - np.asarray(b))))

    print(f"{args.chunks} chunks of {args.size} rows, shift 0 → 1.5 standard deviations\n")
    print(
        "| metric | realized range | modelyard MAE of estimate | NannyML MAE of estimate "
        "| realized metric's standard error (mean) |"
    )
    print("|---|---|---|---|---|")
    rows = [(m, "CBPE", ours[m], real[m], theirs["cbpe"]["estimates"][m]) for m in ours]
    rows += [(m, "DLE", ours_reg[m], real_reg[m], theirs["dle"]["estimates"][m]) for m in ours_reg]
    for m, method, mine, truth, other in rows:
        print(
            f"| {m} ({method}) | {min(truth):.3f}–{max(truth):.3f} | "
            f"{mae(mine, truth):.4f} | {mae(other, truth):.4f} | "
            + (f"{np.mean(floor[m]):.4f} |" if m in floor else "— |")
        )
    print("\n| time | modelyard | NannyML |")
    print("|---|---|---|")
    per = lambda key: theirs[key]["estimate_s"] / args.chunks * 1000  # noqa: E731
    print(f"| CBPE fit (s) | {cls_fit:.2f} | {theirs['cbpe']['fit_s']:.2f} |")
    print(f"| CBPE per chunk (ms) | {np.median(cls_time) * 1000:.2f} | {per('cbpe'):.2f} |")
    print(f"| DLE fit (s) | {reg_fit:.2f} | {theirs['dle']['fit_s']:.2f} |")
    print(f"| DLE per chunk (ms) | {np.median(reg_time) * 1000:.2f} | {per('dle'):.2f} |")
    print(f"| DLE per chunk, trees walked (ms) | {np.median(walked_time) * 1000:.2f} | — |")


if __name__ == "__main__":
    main()
