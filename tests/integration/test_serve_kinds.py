"""A real ``modelyard serve`` with the models real teams have: a text pipeline fitted on a
list of sentences, and colour pipelines whose encoder ignores or refuses new colours.
New sentences and colours get exactly scikit-learn's answer over v1, v2 and batch scoring;
only the refusing encoder's column is closed; open and text features are monitored."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from tests.integration.serving_fixtures import Server, run_cli, running_server
from tests.kind_models import NEW_COLOUR, NEW_SENTENCES, colour_model, text_model

from modelyard import Yard

pytestmark = pytest.mark.slow

MONITOR_FAST = {
    "MODELYARD_MONITOR_BUCKET_SECONDS": "2",
    "MODELYARD_MONITOR_FLUSH_SECONDS": "0.2",
    "MODELYARD_MONITOR_REFRESH_SECONDS": "0.3",
}


@pytest.fixture(scope="module")
def models():  # type: ignore[no-untyped-def]
    return {
        "text": text_model(),
        "open": colour_model("ignore"),
        "closed": colour_model("error"),
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, models) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("kinds")
    with Yard(home) as yard:
        model, texts = models["text"]
        yard.register(model, "sentiment", sample=pd.Series(texts, name="review"))
        yard.create_endpoint("sentiment-api", "sentiment@1")
        yard.create_endpoint("sentiment-watch", "sentiment@1")  # traffic of one test only
        for kind in ("open", "closed"):
            model, frame = models[kind]
            yard.register(model, f"paint-{kind}", sample=frame)
            yard.create_endpoint(f"paint-{kind}-api", f"paint-{kind}@1")
        yard.create_endpoint("paint-watch", "paint-open@1")
    with running_server(home, "--dev", env=MONITOR_FAST) as server:
        yield server


@pytest.fixture
def client(served: Server) -> Iterator[httpx.Client]:
    with served.client() as c:
        yield c


def test_new_sentences_get_sklearns_answer_over_v1(client: httpx.Client, models) -> None:
    model, _ = models["text"]
    for body in (
        {"instances": NEW_SENTENCES},
        {"instances": [{"review": s} for s in NEW_SENTENCES]},
        {"inputs": {"review": NEW_SENTENCES}},
    ):
        answer = client.post("/v1/endpoints/sentiment-api/predict", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == model.predict(NEW_SENTENCES).tolist()
        np.testing.assert_allclose(
            answer.json()["probabilities"], model.predict_proba(NEW_SENTENCES)
        )


def test_new_sentences_get_sklearns_answer_over_v2(client: httpx.Client, models) -> None:
    model, _ = models["text"]
    tensor = {"name": "review", "shape": [3], "datatype": "BYTES", "data": NEW_SENTENCES}
    answer = client.post("/v2/models/sentiment-api/infer", json={"inputs": [tensor]})
    assert answer.status_code == 200, answer.text
    outputs = {o["name"]: o for o in answer.json()["outputs"]}
    assert outputs["predict"]["data"] == model.predict(NEW_SENTENCES).tolist()
    meta = client.get("/v2/models/sentiment-api").json()
    assert [(i["name"], i["datatype"]) for i in meta["inputs"]] == [("review", "BYTES")]


def test_a_number_for_text_is_refused_naming_the_feature(client: httpx.Client) -> None:
    answer = client.post("/v1/endpoints/sentiment-api/predict", json={"instances": [{"review": 4}]})
    assert answer.status_code == 422, answer.text
    assert "'review'" in answer.text
    assert "expected a string (text)" in answer.text


def test_an_open_colour_gets_sklearns_answer(client: httpx.Client, models) -> None:
    model, _ = models["open"]
    rows = pd.DataFrame({"color": [NEW_COLOUR, "red", NEW_COLOUR], "size": [0.1, 0.2, 1.5]})
    answer = client.post(
        "/v1/endpoints/paint-open-api/predict", json={"instances": rows.to_dict("records")}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == model.predict(rows).tolist()
    np.testing.assert_allclose(answer.json()["probabilities"], model.predict_proba(rows))


def test_a_closed_colour_is_refused_naming_the_column(client: httpx.Client) -> None:
    rows = [{"color": NEW_COLOUR, "size": 0.1}]
    answer = client.post("/v1/endpoints/paint-closed-api/predict", json={"instances": rows})
    assert answer.status_code == 422, answer.text
    assert "'color'" in answer.text
    assert "category never seen in training" in answer.text


def test_open_and_text_features_are_monitored(client: httpx.Client, served: Server) -> None:
    rows = [{"color": c, "size": 0.5} for c in [NEW_COLOUR] * 5 + ["red"] * 15]
    assert client.post("/v1/endpoints/paint-watch/predict", json={"instances": rows}).is_success
    sentences = {"instances": NEW_SENTENCES * 4}
    assert client.post("/v1/endpoints/sentiment-watch/predict", json=sentences).is_success

    def drift(endpoint: str) -> dict[str, dict]:
        status = run_cli(served.home, "monitor", "status", endpoint, "--since", "1h", "--json")
        assert status.returncode == 0, status.stderr
        versions = json.loads(status.stdout)["versions"]
        if not versions:  # the monitor has not flushed a window yet: ask again
            return {}
        (version,) = versions
        features = (version.get("drift") or {}).get("features") or []
        return {f["feature"]: f for f in features}

    deadline = time.monotonic() + 20
    while not (drift("paint-watch") and drift("sentiment-watch")):
        assert time.monotonic() < deadline, "no drift report appeared"
        time.sleep(0.5)
    colour = drift("paint-watch")["color"]
    assert colour["kind"] == "categorical"
    assert colour["values"]["unseen_share"] == pytest.approx(0.25)
    review = drift("sentiment-watch")["review"]
    assert review["kind"] == "text"
    assert review["values"]["missing_share"] == 0.0
    assert review["current_rows"] == 12


def test_batch_scoring_matches_the_text_model(served: Server, models, tmp_path: Path) -> None:
    model, _ = models["text"]
    source, dest = tmp_path / "in.csv", tmp_path / "out.csv"
    pd.DataFrame({"review": NEW_SENTENCES}).to_csv(source, index=False)
    done = run_cli(served.home, "predict", "sentiment@1", "-i", str(source), "-o", str(dest))
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(dest)["prediction"].tolist() == model.predict(NEW_SENTENCES).tolist()
