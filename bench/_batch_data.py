"""The batch bench's data and model: a churn-like table made with a fixed seed, no downloads.

Used by ``bench/batch.py`` (which generates the files once) and nothing else. 14 columns: a
text customer id, 8 numeric features (two integer counts, one with 1% missing values), 4
categorical ones and a free-text note (commas and quotes, so the CSV has quoted fields;
the model does not take it). The model is a ``ColumnTransformer`` (impute + scale the
numbers, one-hot the categories) and a ``HistGradientBoostingClassifier`` in one pipeline.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

SEED = 20261204
DATA_VERSION = 2  # bump when the generator changes: the files are then rebuilt
TRAIN_ROWS = 20_000
NUMERIC = (
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "age",
    "num_products",
    "support_calls",
    "data_gb",
    "discount",
)
CATEGORICAL = ("contract", "payment_method", "region", "plan")
ID = "customer_id"
ROW_GROUP = 100_000
MODEL_NAME = "churn"


def make_frame(rows: int, seed: int) -> tuple[Any, Any]:
    """Features (with the id and a note) and a churn label that depends on them."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = rows
    tenure = rng.integers(0, 73, n)
    monthly = np.round(rng.normal(65.0, 25.0, n).clip(15, 150), 2)
    total = np.round(tenure * monthly * rng.uniform(0.9, 1.1, n), 2)
    total[rng.random(n) < 0.01] = np.nan  # 1% missing, as new customers' bills are
    contract = rng.choice(["month-to-month", "one-year", "two-year"], n, p=[0.55, 0.25, 0.2])
    payment = rng.choice(["electronic check", "mailed check", "bank transfer", "credit card"], n)
    region = rng.choice([f"region_{k:02d}" for k in range(12)], n)
    plan = rng.choice(["basic", "plus", "premium"], n, p=[0.5, 0.35, 0.15])
    calls = rng.poisson(1.5, n)
    notes = np.array(
        ["", 'said "too expensive", may leave', "moved; new address", "vip, call first"],
        dtype=object,
    )[rng.choice(4, n, p=[0.7, 0.1, 0.1, 0.1])]
    frame = pd.DataFrame(
        {
            ID: [f"c{k:08d}" for k in range(n)],
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "total_charges": total,
            "age": rng.integers(18, 90, n),
            "num_products": rng.integers(1, 6, n),
            "support_calls": calls,
            "data_gb": np.round(rng.lognormal(2.0, 1.0, n), 3),
            "discount": np.round(rng.uniform(0.0, 0.3, n), 4),
            "contract": contract,
            "payment_method": payment,
            "region": region,
            "plan": plan,
            "note": notes,
        }
    )
    logit = (
        -1.0
        + 1.2 * (contract == "month-to-month")
        - 0.03 * tenure
        + 0.015 * (monthly - 65.0)
        + 0.35 * calls
        + 0.4 * (payment == "electronic check")
        + rng.normal(0.0, 0.5, n)
    )
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return frame, label


def features(frame: Any) -> Any:
    return frame[list(NUMERIC) + list(CATEGORICAL)]


def train(seed: int = SEED) -> tuple[Any, Any]:
    """The fitted pipeline and the training features (the registration sample)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, label = make_frame(TRAIN_ROWS, seed)
    X = features(frame)
    columns = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), list(NUMERIC)),
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(CATEGORICAL),
            ),
        ]
    )
    model = make_pipeline(
        columns, HistGradientBoostingClassifier(max_iter=100, random_state=0)
    ).fit(X, label)
    return model, X


def ensure(folder: Path, rows: int, say: Any) -> dict[str, Path]:
    """``rows.csv``, ``rows.parquet``, ``model.skops`` and a yard with the model as churn@1,
    under ``folder``; made when missing (each file written to a temporary name first)."""
    import skops.io as sio

    files = {
        "csv": folder / "rows.csv",
        "parquet": folder / "rows.parquet",
        "model": folder / "model.skops",
        "home": folder / "home",
    }
    if all(path.exists() for path in files.values()):
        say(f"data present: {folder}")
        return files
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model, sample = train()
    partial = folder / "model.skops.partial"
    sio.dump(model, partial)
    partial.replace(files["model"])
    frame, _ = make_frame(rows, SEED + 1)
    for fmt in ("csv", "parquet"):
        partial = folder / f"rows.{fmt}.partial"
        if fmt == "csv":
            frame.to_csv(partial, index=False)
        else:
            # Row groups of 100,000 rows: the Dask engine's tasks are whole row groups.
            frame.to_parquet(partial, index=False, row_group_size=ROW_GROUP)
        partial.replace(files[fmt])
    del frame
    if not files["home"].exists():
        from modelyard import Yard

        staging = folder / "home.partial"
        with Yard(staging) as yard:
            yard.register(model, MODEL_NAME, sample=sample)
        staging.replace(files["home"])
    size = sum(files[f].stat().st_size for f in ("csv", "parquet")) / 2**20
    say(
        f"generated {folder} ({rows:,} rows; CSV + Parquet {size:.0f} MiB) in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return files
