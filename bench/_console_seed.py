"""The big yard the console bench reads: seeded once, cached under ``bench/.data/``.

Imported by ``bench/console.py`` (modelyard side, project ``.venv``) and also run as a script
by the MLflow virtualenv's Python for the peer's side, so nothing from modelyard is imported
at module level::

    bench/.venvs/mlflow/bin/python bench/_console_seed.py mlflow --plan PLAN --db DB

modelyard side (``seed_models``): 50 models × 20 versions, each version a
``StandardScaler`` + ``LogisticRegression`` pipeline trained with a fixed seed on a subsample
of scikit-learn's bundled breast-cancer data and registered with its training rows as the
sample, four holdout metrics (accuracy, F1, ROC AUC, log loss) and two parameters; the
aliases ``production`` and ``staging`` move 12 times per model (one of them a rollback), and
every seventh model also gets ``candidate``. Everything that was registered and every alias
move is written to a plan (JSON) that the MLflow side replays, so both registries hold the
same names, versions, metrics and aliases.

Monitor (``seed_windows``): one endpoint over the first model's versions 19 and 20, with a
week of 5-minute windows (2,016 buckets × 2 versions) ending at the current bucket, built
the way the server's recorder builds them: real rows of the dataset (resampled with a small
jitter; a daily traffic cycle), the versions' real predictions, latencies and a few errors,
counted into ``Window`` sketches in the bins of each version's reference profile and saved
with ``Yard.save_windows``. Over the last two days six size features drift upwards (up to
+30 %), and version 20 takes half the traffic. ``compact_windows`` then folds the windows
older than a day into hourly ones, as a running server's controller does every hour.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MODELS = 50
VERSIONS = 20
PREFIXES = ("churn", "fraud", "credit", "upsell", "risk", "claims", "ltv", "spam", "demand", "ctr")
ENDPOINT = "scoring-api"
ENDPOINT_VERSIONS = (19, 20)
BUCKET_SECONDS = 300
WEEK_BUCKETS = 7 * 24 * 3600 // BUCKET_SECONDS  # 2016
DRIFTING = (
    "mean radius",
    "mean perimeter",
    "mean area",
    "worst radius",
    "worst perimeter",
    "worst area",
)
SEED = 20261122
ACTOR = "data-team"


def model_names(count: int = MODELS) -> list[str]:
    return [f"{PREFIXES[i % len(PREFIXES)]}-{i // len(PREFIXES):02d}" for i in range(count)]


def alias_moves(version: int) -> list[tuple[str, int | None, str]]:
    """Alias changes made right after ``version`` is registered: (alias, to, reason);
    ``to`` None is a rollback of that alias. The staging value is tracked by the caller."""
    if version == 1:
        return [("staging", 1, "first candidate"), ("production", 1, "first release")]
    moves: list[tuple[str, int | None, str]] = []
    if version % 3 == 0:
        moves.append(("staging", version, f"v{version} passes offline evaluation"))
    if version % 5 == 0:
        moves.append(("production", -1, "staging held up for a week"))  # -1: staging's
    if version == 12:
        moves.append(("production", None, "p95 regression after the release"))
    return moves


# -- modelyard -------------------------------------------------------------------------------


def seed_models(
    home: Path, plan_file: Path, say: Callable[[str], None], models: int = MODELS
) -> dict[str, Any]:
    """Register every version and move the aliases; write the plan the MLflow side replays."""
    import warnings

    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from modelyard import Yard

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    plan: dict[str, Any] = {"models": [], "endpoint": ENDPOINT, "inputs": list(X.columns)}
    started = time.perf_counter()
    with Yard(home, actor=ACTOR) as yard:
        for m, name in enumerate(model_names(models)):
            entry: dict[str, Any] = {"name": name, "versions": [], "aliases": []}
            staging = 0
            for version in range(1, VERSIONS + 1):
                rng = np.random.default_rng([SEED, m, version])
                X_train, X_test, y_train, y_test = train_test_split(
                    X, y, test_size=0.25, stratify=y, random_state=m * 100 + version
                )
                fraction = float(rng.uniform(0.5, 1.0))
                keep = rng.random(len(X_train)) < fraction
                C = float(10 ** rng.uniform(-2, 1))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=500))
                    model.fit(X_train[keep], y_train[keep])
                proba = model.predict_proba(X_test)[:, 1]
                predicted = model.predict(X_test)
                metrics = {
                    "accuracy": round(float(accuracy_score(y_test, predicted)), 6),
                    "f1": round(float(f1_score(y_test, predicted)), 6),
                    "roc_auc": round(float(roc_auc_score(y_test, proba)), 6),
                    "log_loss": round(float(log_loss(y_test, proba)), 6),
                }
                params = {"C": round(C, 6), "train_fraction": round(fraction, 4)}
                yard.register(
                    model,
                    name,
                    sample=X_train[keep],
                    metrics=metrics,
                    params=params,
                    tags={"team": PREFIXES[m % len(PREFIXES)], "seed": str(SEED)},
                    description=f"logistic regression, C={C:.3g}",
                )
                entry["versions"].append({"version": version, "metrics": metrics, "params": params})
                for alias, to, reason in alias_moves(version):
                    if to is None:
                        event = yard.rollback(name, alias, reason=reason)
                        target = event.to_version
                    else:
                        target = staging if to == -1 else to
                        yard.set_alias(name, alias, target, reason=reason)
                    if alias == "staging":
                        staging = target
                    entry["aliases"].append([alias, target])
                if m % 7 == 3 and version == VERSIONS:
                    yard.set_alias(name, "candidate", version, reason="challenger for an A/B test")
                    entry["aliases"].append(["candidate", version])
            plan["models"].append(entry)
            if (m + 1) % 10 == 0:
                elapsed = time.perf_counter() - started
                say(f"  {m + 1}/{models} models registered ({elapsed:.0f} s)")
        first = plan["models"][0]["name"]
        low, high = ENDPOINT_VERSIONS
        from modelyard.domain.endpoints import Route

        yard.create_endpoint(ENDPOINT, f"{first}@{low}")
        yard.set_routes(
            ENDPOINT,
            [Route(f"{first}@{low}", 50), Route(f"{first}@{high}", 50, "canary")],
            reason="canary at 50 %",
        )
    plan["endpoint_model"] = first
    plan_file.write_text(json.dumps(plan, indent=1), encoding="utf-8")
    return plan


def seed_windows(home: Path, model: str, say: Callable[[str], None]) -> dict[str, Any]:
    """Replace the endpoint's windows with a week of them ending at the current bucket."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_breast_cancer

    from modelyard import Yard
    from modelyard.monitoring.window import Window, add_output, output_profile
    from modelyard.store.windows import StoredWindow

    X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    base = X.to_numpy(dtype=float)
    columns = list(X.columns)
    drifting = [columns.index(c) for c in DRIFTING]
    now = time.time()
    last = int(now // BUCKET_SECONDS) * BUCKET_SECONDS
    starts = last - BUCKET_SECONDS * np.arange(WEEK_BUCKETS - 1, -1, -1)
    rng = np.random.default_rng(SEED)
    # Requests per bucket: a daily cycle (busy afternoons, quiet nights), weekends lighter.
    hours = (starts % 86400) / 3600
    daily = 1 + 0.7 * np.sin((hours - 9) / 24 * 2 * math.pi)
    weekday = np.where(((starts // 86400) + 4) % 7 >= 5, 0.6, 1.0)
    requests = rng.poisson(60 * daily * weekday)
    age = (starts - starts[0]) / 86400  # days since the first bucket
    ramp = np.clip((age - 5) / 2, 0, 1)  # drift over the last two days
    canary_share = np.where(age >= 5, 0.5, 0.1)
    refs = [f"{model}@{v}" for v in ENDPOINT_VERSIONS]
    latency_ms = {refs[0]: 3.5, refs[1]: 4.2}
    saved = 0
    started = time.perf_counter()
    with Yard(home, actor=ACTOR) as yard:
        yard.windows.prune(datetime.fromtimestamp(last + 86400, UTC))  # every old window
        specs = {}
        predictors = {}
        for ref in refs:
            profile, classification = yard.monitor_profile(ref)
            specs[ref] = (profile, output_profile(profile, classification))
            predictors[ref] = yard.load(ref)
        for day in range(7):
            chunk = range(day * 288, min((day + 1) * 288, WEEK_BUCKETS))
            stored = []
            for r, ref in enumerate(refs):
                share = canary_share if r == 1 else 1 - canary_share
                per_bucket = [rng.binomial(requests[b], share[b]) for b in chunk]
                sizes = [1 + rng.poisson(1.2, n) for n in per_bucket]  # rows per request
                rows_per_bucket = [int(s.sum()) for s in sizes]
                total = sum(rows_per_bucket)
                picked = base[rng.integers(0, len(base), total)]
                picked *= 1 + rng.normal(0, 0.02, picked.shape)  # no two rows alike
                bucket_of_row = np.repeat(np.arange(len(rows_per_bucket)), rows_per_bucket)
                lift = 1 + 0.3 * ramp[np.asarray(chunk)][bucket_of_row]
                picked[:, drifting] *= lift[:, None]
                predictions = predictors[ref].predict(pd.DataFrame(picked, columns=columns))
                profile, output_spec = specs[ref]
                offset = 0
                for i, b in enumerate(chunk):
                    n = rows_per_bucket[i]
                    window = Window.empty(profile, output_spec)
                    rows = picked[offset : offset + n]
                    for c, name in enumerate(columns):
                        if name in window.features:
                            window.features[name].add(rows[:, c])  # type: ignore[arg-type]
                    add_output(window, np.asarray(predictions[offset : offset + n]))
                    offset += n
                    count = len(sizes[i])
                    spikes = np.where(rng.random(count) < 0.01, 8.0, 1.0)
                    window.add_latencies(
                        rng.lognormal(math.log(latency_ms[ref]), 0.35, count) * spikes
                    )
                    window.rows += n
                    window.requests += count
                    for status, rate in ((500, 0.002), (422, 0.01)):
                        errors = int(rng.poisson(rate * count))
                        if errors:
                            window.add_error(status, errors)
                    stored.append(
                        StoredWindow(
                            endpoint=ENDPOINT,
                            version=ref,
                            bucket_start=datetime.fromtimestamp(int(starts[b]), UTC),
                            bucket_seconds=BUCKET_SECONDS,
                            replica="bench-seed:1",
                            sketch=window.to_json(),
                        )
                    )
            yard.save_windows(stored)
            saved += len(stored)
    say(f"  {saved} windows saved in {time.perf_counter() - started:.1f} s")
    return {
        "windows": saved,
        "first_bucket": int(starts[0]),
        "last_bucket": last,
        "versions": refs,
        "requests": int(requests.sum()),
    }


def compact_windows(home: Path) -> dict[str, Any]:
    """Fold the windows older than a day into hourly ones, as the controller of a running
    ``modelyard serve`` does once an hour (``Yard.compact_monitoring``); the counts after."""
    from modelyard import Yard

    with Yard(home, actor=ACTOR) as yard:
        compact = getattr(yard, "compact_monitoring", None)
        if compact is None:  # a modelyard without compaction: the fine windows stay
            return {"compacted": False, "rows": window_rows(yard)}
        done = compact()
        return {
            "compacted": True,
            "folded": done.windows,
            "rollups": done.rollups,
            "rows": window_rows(yard),
        }


def window_rows(yard: Any) -> dict[str, int]:
    """Stored windows of the endpoint per bucket length (seconds → rows)."""
    end = datetime.fromtimestamp(time.time() + 86400, UTC)
    counts: dict[str, int] = {}
    for window in yard.windows.read(ENDPOINT, datetime.fromtimestamp(0, UTC), end):
        key = str(window.bucket_seconds)
        counts[key] = counts.get(key, 0) + 1
    return counts


# -- MLflow (run with the MLflow virtualenv's Python) ----------------------------------------


def mlmodel_text(inputs: list[str]) -> str:
    """An ``MLmodel`` file with the models' signature and nothing to load: what MLflow's
    version page reads to show the schema (the model files themselves are not written)."""
    columns = json.dumps([{"type": "double", "name": c, "required": True} for c in inputs])
    outputs = json.dumps([{"type": "long", "required": True}])
    return (
        "artifact_path: model\n"
        "flavors:\n"
        "  python_function:\n"
        "    loader_module: mlflow.sklearn\n"
        "  sklearn:\n"
        "    serialization_format: skops\n"
        "signature:\n"
        f"  inputs: '{columns}'\n"
        f"  outputs: '{outputs}'\n"
    )


def seed_mlflow(plan_file: Path, db: Path, artifacts: Path) -> dict[str, Any]:
    """Replay the plan into MLflow's registry: the same models, versions (each linked to a
    run holding its metrics and parameters), tags and alias moves (MLflow keeps only where
    each alias points, not its history). A version's source is a folder holding only an
    ``MLmodel`` file with the signature: no model is stored or loaded."""
    import mlflow
    from mlflow import MlflowClient

    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    mlmodel = mlmodel_text(plan["inputs"])
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = MlflowClient()
    experiment = client.create_experiment("console-bench", artifact_location=artifacts.as_uri())
    started = time.perf_counter()
    for entry in plan["models"]:
        name = entry["name"]
        client.create_registered_model(name, tags={"team": name.split("-")[0]})
        for item in entry["versions"]:
            run = client.create_run(experiment, run_name=f"{name}-v{item['version']}")
            run_id = run.info.run_id
            stamp = int(time.time() * 1000)
            client.log_batch(
                run_id,
                metrics=[
                    mlflow.entities.Metric(k, v, stamp, 0) for k, v in item["metrics"].items()
                ],
                params=[mlflow.entities.Param(k, str(v)) for k, v in item["params"].items()],
            )
            client.set_terminated(run_id)
            source = artifacts / name / str(item["version"]) / "model"
            source.mkdir(parents=True, exist_ok=True)
            (source / "MLmodel").write_text(mlmodel, encoding="utf-8")
            client.create_model_version(
                name,
                source=source.as_uri(),
                run_id=run_id,
                tags={"team": name.split("-")[0], "seed": str(SEED)},
                description=f"logistic regression, C={item['params']['C']:.3g}",
            )
        for alias, version in entry["aliases"]:
            client.set_registered_model_alias(name, alias, str(version))
    return {"seconds": time.perf_counter() - started, "models": len(plan["models"])}


def main() -> int:
    parser = argparse.ArgumentParser(description="seed the MLflow side of the console bench")
    parser.add_argument("peer", choices=["mlflow"])
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--artifacts", type=Path, required=True)
    args = parser.parse_args()
    args.artifacts.mkdir(parents=True, exist_ok=True)
    print(json.dumps(seed_mlflow(args.plan, args.db, args.artifacts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
