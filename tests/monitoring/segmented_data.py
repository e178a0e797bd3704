"""A classifier with a ``country`` input, and traffic in which one country goes wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

COUNTRIES = ("FR", "DE", "IT", "ES")


def rows(n: int, seed: int, shift: float = 0.0) -> tuple[pd.DataFrame, pd.Series]:
    """``shift`` moves French inputs (only theirs) away from the reference."""
    rng = np.random.default_rng(seed)
    country = rng.choice(COUNTRIES, p=[0.3, 0.3, 0.25, 0.15], size=n)
    x1, x2 = rng.normal(size=(2, n))
    x1 = np.where(country == "FR", x1 + shift, x1)
    y = (x1 + 0.5 * x2 + rng.normal(0, 0.3, n) > 0).astype(int)
    frame = pd.DataFrame({"country": country, "x1": x1, "x2": x2})
    return frame, pd.Series(y, name="y")


def model(X: pd.DataFrame, y: pd.Series) -> Pipeline:
    encode = ColumnTransformer(
        [("country", OneHotEncoder(handle_unknown="ignore"), ["country"])],
        remainder="passthrough",
    )
    return Pipeline([("encode", encode), ("fit", LogisticRegression())]).fit(X, y)


def truth(frame: pd.DataFrame, y: pd.Series, wrong: str = "FR") -> list[int]:
    """The labels, flipped for one country's rows (its predictions look wrong)."""
    flipped = np.where(frame["country"].to_numpy() == wrong, 1 - y.to_numpy(), y.to_numpy())
    return [int(v) for v in flipped]
