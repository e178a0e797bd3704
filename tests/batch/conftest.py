"""The batch engines side by side: the same scenarios run on the local engine and on a
small Dask LocalCluster (``dask_cluster`` in tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from modelyard import Yard
from modelyard.batch.local import score_file
from modelyard.batch.scoring import BatchReport


@dataclass
class Engine:
    """One engine's way to run ``score`` and to read back what it wrote."""

    name: str
    yard: Yard
    scheduler: str | None = None

    def score(self, source: Path, dest: Path, **options: Any) -> BatchReport:
        if self.name == "local":
            return score_file(self.yard.load("churn@1"), source, dest, **options)
        from modelyard.batch.on_dask import score_dataset

        options.pop("progress", None)
        return score_dataset(
            self.yard,
            "churn@1",
            str(source),
            str(self.written(dest)),
            scheduler=self.scheduler,
            **options,
        )

    def written(self, dest: Path) -> Path:
        """The local engine's file, or the Dask engine's folder of Parquet parts."""
        return dest if self.name == "local" else dest.with_suffix("")

    def read(self, dest: Path) -> pd.DataFrame:
        out = self.written(dest)
        if out.suffix == ".csv":
            return pd.read_csv(out)
        return pd.read_parquet(out)


def engine_for(request: pytest.FixtureRequest, yard: Yard) -> Engine:
    if request.param == "local":
        return Engine("local", yard)
    cluster = request.getfixturevalue("dask_cluster")
    return Engine("dask", yard, cluster.scheduler_address)


ENGINES = ["local", pytest.param("dask", marks=pytest.mark.slow)]
