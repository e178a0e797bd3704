"""A tabular model with a feature of every common kind (float32, float64, int64, string)
and string class labels: what the v2 HTTP and gRPC tests send typed tensors to."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

PLANS = np.array(["basic", "plus", "pro"])


def customers(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.normal(50, 15, rows).astype(np.float32),
            "balance": rng.normal(1000, 400, rows),
            "visits": rng.integers(0, 30, rows).astype(np.int64),
            "plan": PLANS[rng.integers(0, 3, rows)],
        }
    )


def churn_pipeline() -> tuple[Pipeline, pd.DataFrame]:
    """The fitted model and its training frame."""
    X = customers(400, 0)
    y = np.where(X["balance"] / 40 + X["visits"] + (X["plan"] == "pro") * 8 > 45, "churn", "stay")
    columns = ColumnTransformer(
        [
            ("numbers", StandardScaler(), ["income", "balance", "visits"]),
            ("plan", OneHotEncoder(), ["plan"]),
        ]
    )
    model = Pipeline([("columns", columns), ("classify", LogisticRegression(max_iter=500))])
    return model.fit(X, y), X


def serve_mixed_and_cancer(
    yard: Any, mixed: tuple[Pipeline, pd.DataFrame], logreg: Pipeline, cancer_frame: pd.DataFrame
) -> None:
    """The two endpoints the v2 binary and gRPC tests call: ``mixed-api`` (numbers, ints and
    strings: every v2 datatype) and ``cancer-api`` (30 floats: one [N, F] tensor)."""
    model, X = mixed
    yard.register(model, "mixed", sample=X)
    yard.create_endpoint("mixed-api", "mixed@1")
    yard.register(logreg, "cancer", sample=cancer_frame)
    yard.create_endpoint("cancer-api", "cancer@1")
