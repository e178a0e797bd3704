"""A version registered without a sample gets its reference profile later
(``modelyard profile set``) while a real server serves it, and drift shows from then on."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tests.integration.serving_fixtures import run_cli, running_server

from modelyard import NoReferenceWarning, Yard

pytestmark = pytest.mark.slow

MONITOR_FAST = {
    "MODELYARD_MONITOR_BUCKET_SECONDS": "1",
    "MODELYARD_MONITOR_FLUSH_SECONDS": "0.2",
    "MODELYARD_MONITOR_REFRESH_SECONDS": "0.3",
}


def _status(home: Path) -> dict:
    done = run_cli(home, "monitor", "status", "cancer-api", "--since", "1h", "--json")
    assert done.returncode == 0, done.stderr
    (served,) = json.loads(done.stdout)["versions"]
    return dict(served)


def test_profile_set_turns_drift_on_for_a_served_version(tmp_path: Path, cancer, logreg) -> None:
    X, _ = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        with pytest.warns(NoReferenceWarning, match=r"^cancer@1: no reference sample: drift and"):
            version = yard.register(logreg, "cancer")
        assert version.checks_off is not None
        yard.create_endpoint("cancer-api", "cancer@1")
    X.to_parquet(sample := tmp_path / "ref.parquet", index=False)
    body = {"instances": X.iloc[:50].to_dict("records")}
    with running_server(home, "--dev", env=MONITOR_FAST) as server, server.client() as client:
        assert client.post("/v1/endpoints/cancer-api/predict", json=body).status_code == 200
        time.sleep(1.0)
        before = _status(home)
        assert before["drift_share"] is None
        assert before["drift_unavailable"].startswith("no reference sample")

        done = run_cli(home, "profile", "set", "cancer@1", "--sample", str(sample))
        assert done.returncode == 0, done.stderr
        assert "cancer@1: reference profile set from ref.parquet" in done.stdout
        time.sleep(1.2)  # the next bucket's window reads the new profile
        for _ in range(4):
            assert client.post("/v1/endpoints/cancer-api/predict", json=body).status_code == 200
        deadline = time.monotonic() + 20
        while (after := _status(home))["drift_share"] is None and time.monotonic() < deadline:
            time.sleep(0.3)
    assert after["drift_unavailable"] is None
    assert after["drift_share"] is not None
    assert after["drift"]["features"]  # per-feature figures against the new reference
    shown = run_cli(home, "models", "show", "cancer@1")
    assert "profile of 569 sample rows" in " ".join(shown.stdout.replace("│", " ").split())
    audit = json.loads(run_cli(home, "audit", "--action", "profile.set", "--json").stdout)
    assert audit[0]["details"]["replaced"] is False
