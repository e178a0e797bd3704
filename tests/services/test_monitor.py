"""The monitor service hands the recorder a regressor's nanny ready to run."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from modelyard import Yard
from modelyard.flavors import get_flavor
from modelyard.monitoring.loss_estimation import NANNY_FILE
from modelyard.monitoring.tree_tables import TreeTables


def noisy(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, size=(n, 3))
    y = 3 * x[:, 0] - x[:, 1] + rng.normal(0.0, 0.2 + np.abs(x[:, 0]), n)
    return pd.DataFrame(x, columns=["a", "b", "c"]), pd.Series(y, name="y")


def test_a_regressors_nanny_is_loaded_as_lookup_tables(sqlite_yard: Yard) -> None:
    model = LinearRegression().fit(*noisy(2000, 1))
    version = sqlite_yard.register(model, "price", holdout=noisy(1500, 2))
    nanny = sqlite_yard.monitor.loss_estimator("price@1")
    assert isinstance(nanny, TreeTables)
    frame, _ = noisy(300, 3)
    matrix = np.column_stack([frame.to_numpy(), model.predict(frame)])
    stored = version.file(NANNY_FILE)
    assert stored is not None
    profile = sqlite_yard.monitor.registry.profile("price", 1)
    walked = get_flavor("sklearn").load(
        {"model.skops": sqlite_yard.monitor.artifacts.get_bytes(stored.sha256, "nanny")},
        profile["estimation"]["nanny_meta"],
    )
    np.testing.assert_allclose(nanny.predict(matrix), walked.predict(matrix), rtol=1e-12)
