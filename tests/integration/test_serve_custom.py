"""A custom Python model served by a real ``modelyard serve``: its pre-processing (a derived
feature) and post-processing (a threshold, a business rule) show in the answers, an alias
move hot-swaps it, and a model that raises answers 5xx naming the version."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tests.flavors.custom_sources import (
    base_model,
    churn_data,
    expected,
    forget_user_modules,
    import_user_module,
    write_code,
)
from tests.integration.serving_fixtures import run_cli, running_server

from modelyard import Yard

pytestmark = pytest.mark.slow

FAST = {"MODELYARD_POLL_SECONDS": "0.2", "MODELYARD_MONITOR_FLUSH_SECONDS": "0.2"}


def test_a_custom_model_serves_batches_and_hot_swaps(tmp_path: Path) -> None:
    home, code = tmp_path / "home", write_code(tmp_path / "src")
    frame, labels = churn_data()
    base = base_model(frame, labels)
    frame.to_csv(sample := tmp_path / "sample.csv", index=False)
    with Yard(home) as yard:
        yard.register(base, "base", sample=frame.assign(ratio=frame.a / (frame.b + 1.0)))
        yard.set_alias("base", "production", 1)
    made = run_cli(  # v1 from the command line: Churn() with its default threshold, 0.5
        home,
        "register",
        "churn_model:Churn",
        "--code",
        str(code["churn_model"]),
        "--code",
        str(code["churn_features"]),
        "--artifact",
        "base=base@production",
        "--artifact",
        f"rules={code['rules']}",
        "--sample",
        str(sample),
        "--name",
        "churn",
    )
    assert made.returncode == 0, made.stderr
    assert "registered churn@1 (python, 3 features)" in made.stdout
    with Yard(home) as yard:
        churn = import_user_module(code["churn_model"]).Churn(threshold=0.9)  # type: ignore[attr-defined]
        yard.register(
            churn,
            "churn",
            code=[code["churn_model"], code["churn_features"]],
            artifacts={"base": "base@production", "rules": code["rules"]},
            sample=frame,
        )
        forget_user_modules(code["rules"].parent)
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production")
        guard = import_user_module(code["bad_models"]).FailsOn()  # type: ignore[attr-defined]
        yard.register(guard, "guard", code=[code["bad_models"]], sample=frame)
        forget_user_modules(code["rules"].parent)
        yard.create_endpoint("guard-api", "guard@1")
    rows = frame.iloc[:64]
    body = {"instances": rows.to_dict("records")}
    with running_server(home, "--dev", env=FAST) as server, server.client() as client:
        first = client.post("/v1/endpoints/churn-api/predict", json=body).json()
        assert first["version"] == 1
        assert first["predictions"] == expected(base, rows, 0.5)
        assert {"keep", "call", "wait"} <= set(first["predictions"])  # rule and threshold
        # Validated against the signature inferred from the sample, like any flavor.
        bad = client.post("/v1/endpoints/churn-api/predict", json={"instances": [{"a": 1}]})
        assert bad.status_code == 422
        assert "missing feature" in bad.text
        # The Open Inference Protocol v2, per-feature tensors in, labels (BYTES) out.
        inputs = [
            {"name": n, "shape": [4], "datatype": t, "data": rows[n].iloc[:4].tolist()}
            for n, t in (("a", "FP64"), ("b", "FP64"), ("vip", "INT64"))
        ]
        v2 = client.post("/v2/models/churn-api/infer", json={"inputs": inputs})
        assert v2.status_code == 200, v2.text
        assert v2.json()["outputs"][0]["data"] == first["predictions"][:4]

        with Yard(home) as yard:
            yard.set_alias("churn", "production", 2)
        deadline = time.monotonic() + 20
        while (answer := client.post("/v1/endpoints/churn-api/predict", json=body).json())[
            "version"
        ] != 2:
            assert time.monotonic() < deadline, server.logs()
            time.sleep(0.1)
        assert answer["predictions"] == expected(base, rows, 0.9)
        assert answer["predictions"] != first["predictions"]  # the stricter threshold shows

        ok = client.post(
            "/v1/endpoints/guard-api/predict", json={"instances": [{"a": 1, "b": 1, "vip": 0}]}
        )
        assert ok.status_code == 200, ok.text
        failed = client.post(
            "/v1/endpoints/guard-api/predict", json={"instances": [{"a": 1000, "b": 1, "vip": 0}]}
        )
        # The caller learns which version failed; operators see why, under the request id.
        assert (failed.status_code, failed.json()["error"]["code"]) == (500, "model_error")
        assert failed.headers["X-Modelyard-Version"] == "guard@1"
        (kept,) = client.get("/api/endpoints/guard-api").json()["recent_errors"]
        # Monitored like any flavor: both versions' rows counted on the endpoint.
        deadline = time.monotonic() + 20
        while len(counted := _rows_by_version(home)) < 2 and time.monotonic() < deadline:
            time.sleep(0.3)
    assert kept["request_id"] == failed.json()["request_id"]
    assert kept["message"] == "guard@1 failed: a above 100 is not a customer"
    assert counted["churn@1"] >= 64 + 4
    assert counted["churn@2"] >= 64


def _rows_by_version(home: Path) -> dict[str, int]:
    done = run_cli(home, "monitor", "status", "churn-api", "--since", "1h", "--json")
    assert done.returncode == 0, done.stderr
    return {v["version"]: v["rows"] for v in json.loads(done.stdout)["versions"]}
