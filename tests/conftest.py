"""Shared fixtures: real SQLite files, a fresh PostgreSQL database when the server is up,
and real scikit-learn models trained on the bundled breast-cancer data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from modelyard import Yard

PG_ADMIN_URL = os.environ.get(
    "MODELYARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _pg_reason() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(_plain(PG_ADMIN_URL), connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {str(exc).strip().splitlines()[0]}"


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


_PG_SKIP = _pg_reason()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    import psycopg

    name = f"modelyard_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain(PG_ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(_plain(PG_ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database of a test yard: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'yard.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def yard(tmp_path: Path, db_url: str) -> Iterator[Yard]:
    """A yard on each backend (contract tests run on SQLite and PostgreSQL)."""
    with Yard(tmp_path / "home", db_url=db_url, actor="tester") as y:
        yield y


@pytest.fixture
def sqlite_yard(tmp_path: Path) -> Iterator[Yard]:
    """A yard on the embedded default only (for tests about files and processes)."""
    with Yard(tmp_path / "home", actor="tester") as y:
        yield y


@pytest.fixture(scope="session")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    frame, target = load_breast_cancer(return_X_y=True, as_frame=True)
    return frame, target


@pytest.fixture(scope="session")
def logreg(cancer: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    X, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)


@pytest.fixture(scope="session")
def forest(cancer: tuple[pd.DataFrame, pd.Series]) -> RandomForestClassifier:
    X, y = cancer
    return RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, y)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """One moto S3 server for the session: s3fs caches its filesystems by their arguments,
    not the endpoint in the environment, so a server per module left later modules talking
    to a stopped one. Tests keep to buckets of their own."""
    from tests.s3_server import moto_endpoint

    with moto_endpoint() as url:
        yield url


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    """A LocalCluster of 2 single-threaded worker processes, shared by a test module, as a
    scheduler address is given to the engines (batch scoring, the drift gate)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},  # not 8787: two test workers start one each
    ) as cluster:
        yield cluster
