"""`modelyard loadtest` against a real `modelyard serve`, always as its own process: Locust
patches the interpreter with gevent, which the test process must never be."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from modelyard import Yard
from modelyard.runtime.pool import WARM_ROWS
from tests.cli.conftest import run_modelyard
from tests.integration.models_for_serving import ExplodingClassifier
from tests.integration.serving_fixtures import Server, free_port, running_server


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, logreg: Pipeline, cancer: tuple[pd.DataFrame, object]
) -> Iterator[Server]:
    X, y = cancer
    # The warm-up rows at load and the preflight's row (the first few) are small ones that
    # pass; the large ones that explode come right after them, so the load meets them
    # however few requests a slow machine sends (loadtest cycles through rows in order).
    ascending = X.sort_values(X.columns[0]).reset_index(drop=True)
    small, large = ascending.iloc[: len(X) // 2], ascending.iloc[len(X) // 2 :]
    ordered = pd.concat([small.iloc[:WARM_ROWS], large, small.iloc[WARM_ROWS:]])
    ordered = ordered.reset_index(drop=True)
    home = tmp_path_factory.mktemp("loadtest")
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=X)
        yard.create_endpoint("churn-api", "churn@1")
        bug = ExplodingClassifier().fit(X, y)
        yard.register(bug, "boom", sample=ordered, trust_types=True)
        yard.create_endpoint("boom-api", "boom@1")
        yard.register(logreg, "bare")  # no sample rows
        yard.create_endpoint("bare-api", "bare@1")
    median = str(float(ordered.iloc[:, 0].median()))
    with running_server(home, "--dev", env={"EXPLODE_ABOVE": median}) as server:
        yield server


def _loadtest(server: Server, *args: str) -> tuple[int, str]:
    done = run_modelyard("--home", str(server.home), "loadtest", *args, "--url", server.url)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.slow
def test_a_generous_budget_passes_and_the_distribution_is_printed(served: Server) -> None:
    code, out = _loadtest(
        served, "churn-api", "--users", "4", "--duration", "2s", "--p95-ms", "5000", "--json"
    )
    assert code == 0, out
    report = json.loads(out)
    assert report["requests"] > 0
    assert report["error_rate"] == 0
    assert set(report["latency_ms"]) == {"p50", "p90", "p95", "p99"}
    assert report["latency_ms"]["p50"] <= report["latency_ms"]["p99"] < 5000
    assert 1.5 < report["seconds"] < 5


@pytest.mark.slow
def test_an_impossible_latency_budget_fails_naming_it(served: Server) -> None:
    code, out = _loadtest(
        served, "churn-api", "--users", "2", "--duration", "1s", "--p95-ms", "0.01"
    )
    assert code == 1, out
    assert "p95 ms" in out  # the table
    [line] = [line for line in out.splitlines() if line.startswith("budget broken")]
    assert "> 0.01 ms (--p95-ms)" in line


@pytest.mark.slow
def test_a_failing_endpoint_breaks_the_error_budget(served: Server) -> None:
    code, out = _loadtest(
        served, "boom-api", "--users", "2", "--duration", "1s", "--max-error-rate", "0.001"
    )
    assert code == 1, out
    assert "errors by status" in out
    [line] = [line for line in out.splitlines() if line.startswith("budget broken")]
    assert "(--max-error-rate)" in line
    assert "--p95-ms" not in line


@pytest.mark.slow
def test_a_predict_url_names_the_server_and_the_endpoint(served: Server) -> None:
    url = f"{served.url}/v1/endpoints/churn-api/predict"
    done = run_modelyard("--home", str(served.home), "loadtest", url, "--duration", "1s")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "churn-api at " + served.url in done.stdout


@pytest.mark.slow
def test_an_endpoint_without_sample_rows_is_refused(served: Server) -> None:
    code, out = _loadtest(served, "bare-api", "--duration", "1s")
    assert code == 2
    assert out.startswith("error: bare@1 was registered without sample rows"), out


@pytest.fixture(scope="module")
def home(
    tmp_path_factory: pytest.TempPathFactory,
    logreg: Pipeline,
    cancer: tuple[pd.DataFrame, object],
) -> Path:
    home = tmp_path_factory.mktemp("no-server")
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=cancer[0])
        yard.create_endpoint("churn-api", "churn@1")
    return home


def test_a_server_that_is_not_up_is_one_line_within_seconds(home: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    done = run_modelyard("--home", str(home), "loadtest", "churn-api", "--url", url)
    assert time.monotonic() - started < 20
    assert done.returncode == 7, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: no server answers at {url}: "), line


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["nope-api"], 3, "endpoint 'nope-api' not found"),
        (["churn-api", "--duration", "30"], 2, "--duration '30': expected a whole number"),
        (["churn-api", "--duration", "2x"], 2, "--duration '2x'"),
        (["churn-api", "--users", "0"], 2, "--users 0: must be from 1"),
        (["churn-api", "--max-error-rate", "2"], 2, "--max-error-rate 2: must be from 0 to 1"),
        (["http://127.0.0.1:1/predict"], 2, "a URL ending in /v1/endpoints/NAME/predict"),
        (["churn-api", "--url", "ftp://x"], 2, "--url 'ftp://x': expected http://HOST:PORT"),
    ],
)
def test_bad_input_is_one_line_and_sends_nothing(
    home: Path, args: list[str], code: int, message: str
) -> None:
    url = ["--url", f"http://127.0.0.1:{free_port()}"] if "--url" not in args else []
    done = run_modelyard("--home", str(home), "loadtest", *args, *url)
    assert done.returncode == code, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: "), line
    assert message in line, line


def test_without_locust_it_says_how_to_install_it(home: Path) -> None:
    """``sys.modules[name] = None`` is how Python blocks an import: as if not installed."""
    code = "import sys; sys.modules['locust'] = None\nfrom modelyard.cli.app import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "--home", str(home), "loadtest", "churn-api"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.endswith("pip install 'modelyard[loadtest]'"), line
