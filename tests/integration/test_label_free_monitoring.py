"""Issue 18 end to end, as a user drives it: a real ``modelyard serve`` with a classifier
and a regressor registered with labelled holdouts (``register --holdout``). A stream whose
inputs shift (French rows move towards the decision boundary; the regressor's inputs move
to where its noise is larger) makes the estimates move while no label exists; a policy on
France's estimated accuracy fires; two canaries are judged on ``estimated_accuracy`` before
any label (the worse candidate aborted, the good one promoted); the labels, sent late,
show the realized values beside the estimates, close to them; and the data-quality shares
of the stream are exactly those sent."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder
from tests.integration.serving_fixtures import Server, run_cli, running_server

pytestmark = pytest.mark.slow

BUCKET = 2  # seconds: phases are kept two buckets apart so a period holds only one of them
FAST = {
    "MODELYARD_POLL_SECONDS": "0.2",
    "MODELYARD_MONITOR_BUCKET_SECONDS": str(BUCKET),
    "MODELYARD_MONITOR_FLUSH_SECONDS": "0.2",
    "MODELYARD_MONITOR_REFRESH_SECONDS": "0.3",
    "MODELYARD_CONTROLLER_INTERVAL": "0.3",
}
ROWS, PER_REQUEST = 600, 50  # rows per phase and endpoint
MISSING, OUT_OF_RANGE, UNSEEN = 30, 24, 36  # calm rows of the classifier with each problem
WRONG_TYPE = 4  # refused requests
SHIFT = 2.0  # how far French inputs move towards the boundary (the others half as far)


def _classified(n: int, seed: int, shift: float = 0.0) -> tuple[pd.DataFrame, pd.Series]:
    """P(y | a, b) is fixed and ``a`` lies on either side of the boundary (a = 0);
    ``shift`` moves it towards the boundary, French rows twice as far (a covariate shift:
    the true accuracy falls, France's most). ``c`` is a reading the label ignores, uniform
    on (-1, 1) in the reference and within (-0.9, 0.9) in traffic."""
    rng = np.random.default_rng(seed)
    country = rng.choice(["FR", "DE", "IT"], p=[0.5, 0.25, 0.25], size=n)
    moved = shift * np.where(country == "FR", 1.0, 0.5)
    a = rng.choice([-1.0, 1.0], size=n) * (rng.normal(2.5, 1.0, n) - moved)
    b = rng.normal(0.0, 1.0, n)
    c = rng.uniform(-0.9, 0.9, n)
    y = rng.uniform(size=n) < 1 / (1 + np.exp(-(2.0 * a + 0.5 * b)))
    frame = pd.DataFrame({"a": a, "b": b, "c": c, "country": country})
    return frame, pd.Series(y.astype(int), name="y")


def _reference(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Training and holdout rows: ``c`` spans (-1, 1) and is missing now and then."""
    frame, labels = _classified(n, seed)
    frame["c"] = np.random.default_rng(seed + 100).uniform(-1.0, 1.0, n)
    frame.loc[::25, "c"] = np.nan
    return frame, labels


def _classifier(X: pd.DataFrame, y: pd.Series, features: list[str]) -> Pipeline:
    encode = make_column_transformer(
        (SimpleImputer(), features), (OneHotEncoder(handle_unknown="ignore"), ["country"])
    )
    return make_pipeline(encode, LogisticRegression()).fit(X, y)


def _regressed(n: int, seed: int, shift: float = 0.0) -> tuple[pd.DataFrame, pd.Series]:
    """The noise grows with |a|: moving ``a`` from 0 to ``shift`` raises the true MAE.
    The moved inputs stay mostly within the reference's range, where the nanny model
    learnt the errors (beyond it, it predicts the error at the edge: see monitoring.md)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(shift, 1.5, n)
    b = rng.normal(0.0, 1.0, n)
    y = 3.0 * a + b + rng.normal(0.0, 1.0, n) * (0.2 + 0.8 * np.abs(a))
    return pd.DataFrame({"a": a, "b": b}), pd.Series(y, name="y")


def _register(home: Path, tmp: Path, model: Any, name: str, holdout: pd.DataFrame) -> None:
    path = tmp / f"{name}-{len(list(tmp.glob(f'{name}-*.skops')))}.skops"
    skops.io.dump(model, path)
    holdout_file = path.with_suffix(".csv")
    holdout.to_csv(holdout_file, index=False)
    done = run_cli(home, "register", str(path), "--name", name,
                   "--holdout", str(holdout_file), "--label", "y")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def _cli(home: Path, *args: str) -> str:
    done = run_cli(home, *args)
    assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
    return done.stdout


def _predict(client: httpx.Client, endpoint: str, frame: pd.DataFrame) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(frame), PER_REQUEST):
        part = frame.iloc[start : start + PER_REQUEST]
        body = {"instances": json.loads(part.to_json(orient="records"))}
        answer = client.post(f"/v1/endpoints/{endpoint}/predict", json=body)
        assert answer.status_code == 200, answer.text
        ids += answer.json()["prediction_ids"]
    return ids


def _label(client: httpx.Client, endpoint: str, ids: list[str], actual: pd.Series) -> None:
    items = [{"prediction_id": p, "actual": v} for p, v in zip(ids, actual.tolist(), strict=True)]
    for start in range(0, len(items), 200):
        sent = client.post(
            f"/v1/endpoints/{endpoint}/feedback", json={"feedback": items[start : start + 200]}
        )
        assert sent.status_code == 200, sent.text


def _until(what: str, server: Server, seconds: float, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what}:\n{server.logs()[-3000:]}"
        time.sleep(0.3)
    return value


def _monitor(client: httpx.Client, endpoint: str, since: str) -> dict[str, Any] | None:
    """The busiest version's summary over ``since`` (the admin API, as the console reads)."""
    answer = client.get(f"/api/endpoints/{endpoint}/monitor", params={"since": since})
    assert answer.status_code == 200, answer.text
    versions = answer.json()["versions"]
    return dict(versions[0]) if versions else None


def _settled(
    client: httpx.Client, endpoint: str, rows: int, labeled: int = 0, start: float | None = None
) -> Callable[[], dict[str, Any] | None]:
    """The summary once ``rows`` rows (and ``labeled`` labels) are in it: over the last
    hour, or from ``start`` on (``_since``, computed again at each look)."""

    def check() -> dict[str, Any] | None:
        version = _monitor(client, endpoint, "1h" if start is None else _since(start))
        if version is None or version["rows"] != rows:
            return None
        return version if version["feedback"]["labeled"] >= labeled else None

    return check


def _since(start: float) -> str:
    """A period beginning after ``start`` (wall clock) minus under a second: never reaching
    back to the phase before, which ended two buckets earlier."""
    return f"{math.floor(time.time() - start) + 1}s"


def _calm_stream() -> pd.DataFrame:
    """ROWS ordinary rows, of which MISSING lack ``c``, OUT_OF_RANGE have it outside the
    reference's range and UNSEEN come from a country the model never saw."""
    frame, _ = _classified(ROWS, 10)
    frame["c"] = frame["c"].astype(object)
    frame.loc[: MISSING - 1, "c"] = None
    frame.loc[MISSING : MISSING + OUT_OF_RANGE - 1, "c"] = [5.0, -5.0] * (OUT_OF_RANGE // 2)
    frame.loc[MISSING + OUT_OF_RANGE : MISSING + OUT_OF_RANGE + UNSEEN - 1, "country"] = "ES"
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)  # mixed requests


def test_estimates_move_before_labels_and_canaries_policies_and_shares_follow(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    fired = tmp_path / "fired"
    X, y = _reference(4000, 1)
    holdout_x, holdout_y = _reference(2000, 2)
    holdout = holdout_x.assign(y=holdout_y)
    good_x, good_y = _reference(4000, 3)
    _register(home, tmp_path, _classifier(X, y, ["a", "b", "c"]), "risk", holdout)
    _register(home, tmp_path, _classifier(good_x, good_y, ["a", "b", "c"]), "risk", holdout)
    _register(home, tmp_path, _classifier(X, y, ["b", "c"]), "risk", holdout)  # no `a`: worse
    price_x, price_y = _regressed(3000, 4)
    price_holdout = pd.concat(_regressed(2000, 5), axis=1)
    _register(home, tmp_path, LinearRegression().fit(price_x, price_y), "price", price_holdout)

    _cli(home, "endpoint", "create", "risk-api", "-m", "risk@1", "--segment-by", "country")
    _cli(home, "endpoint", "create", "price-api", "-m", "price@1")
    for canary, candidate in (("canary-good", "risk@2"), ("canary-bad", "risk@3")):
        _cli(home, "endpoint", "create", canary, "-m", "risk@1")
        _cli(home, "rollout", "start", canary, "--candidate", candidate, "--steps", "50,100",
             "--interval", f"{2 * BUCKET}s", "--min-rows", "100",
             "--check", "estimated_accuracy>=baseline-0.05")  # fmt: skip
    _cli(home, "policy", "add", "risk-api",
         "--when", "estimated_accuracy[country=FR]<0.85 for 1s",
         "--then", f"run:touch {fired}", "--window", f"{2 * BUCKET}s")  # fmt: skip

    with running_server(home, "--dev", env=FAST) as server, server.client() as client:
        # 1. Canaries judged on an estimate: no label is ever sent to these endpoints.
        canary_rows, _ = _classified(100, 20)

        def rollouts_ended() -> dict[str, dict[str, Any]] | None:
            states = {}
            for canary in ("canary-good", "canary-bad"):
                shown = client.get(f"/api/endpoints/{canary}/rollout").json()
                if shown["state"] not in ("succeeded", "aborted"):
                    _predict(client, canary, canary_rows)
                states[canary] = shown
            done = all(s["state"] in ("succeeded", "aborted") for s in states.values())
            return states if done else None

        ended = _until("the two canaries to end", server, 60, rollouts_ended)
        assert ended["canary-good"]["state"] == "succeeded", ended["canary-good"]
        assert ended["canary-bad"]["state"] == "aborted", ended["canary-bad"]
        answered = client.post("/v1/endpoints/canary-good/predict",
                               json={"instances": [canary_rows.iloc[0].to_dict()]})  # fmt: skip
        assert answered.headers["x-modelyard-version"] == "risk@2"
        bad = json.loads(_cli(home, "rollout", "status", "canary-bad", "--json"))
        assert "check failed" in bad["message"], bad
        assert "estimated_accuracy" in bad["message"], bad
        for canary in ("canary-good", "canary-bad"):  # judged before any label existed
            labelled = _monitor(client, canary, "1h")
            assert labelled is not None
            assert labelled["feedback"]["labeled"] == 0

        # 2. The calm window: the classifier's stream carries the data-quality problems.
        calm = _calm_stream()
        calm_ids = _predict(client, "risk-api", calm)
        for _ in range(WRONG_TYPE):
            refused = client.post(
                "/v1/endpoints/risk-api/predict",
                json={"instances": [{"a": 1.0, "b": 0.0, "c": "high", "country": "FR"}]},
            )
            assert refused.status_code == 422, refused.text
        price_calm, price_calm_y = _regressed(ROWS, 11)
        price_calm_ids = _predict(client, "price-api", price_calm)
        calm_risk = _until("the calm classifier", server, 30, _settled(client, "risk-api", ROWS))
        calm_price = _until("the calm regressor", server, 30, _settled(client, "price-api", ROWS))
        calm_accuracy = calm_risk["estimated"]["metrics"]["accuracy"]
        calm_mae = calm_price["estimated"]["metrics"]["mae"]
        assert calm_risk["estimated"]["method"] == "cbpe"
        assert calm_price["estimated"]["method"] == "dle"
        assert calm_accuracy["value"] == pytest.approx(calm_accuracy["reference"], abs=0.05)
        assert calm_mae["value"] == pytest.approx(calm_mae["reference"], rel=0.15)
        assert not fired.exists(), "the policy fired on calm traffic"

        # 3. The shifted window, two buckets later; still no label anywhere.
        time.sleep(2 * BUCKET + 0.5)
        start = time.time()
        shifted, shifted_y = _classified(ROWS, 12, shift=SHIFT)
        shifted_ids = _predict(client, "risk-api", shifted)
        price_shifted, price_shifted_y = _regressed(ROWS, 13, shift=1.5)
        price_shifted_ids = _predict(client, "price-api", price_shifted)
        moved = _settled(client, "risk-api", ROWS, start=start)
        moved_risk = _until("the shifted classifier", server, 30, moved)
        moved = _settled(client, "price-api", ROWS, start=start)
        moved_price = _until("the shifted regressor", server, 30, moved)
        accuracy = moved_risk["estimated"]["metrics"]["accuracy"]
        mae = moved_price["estimated"]["metrics"]["mae"]
        assert moved_risk["feedback"]["labeled"] == moved_price["feedback"]["labeled"] == 0
        assert accuracy["realized"] is None
        assert mae["realized"] is None
        # Beyond both intervals, and by a stated margin.
        assert accuracy["high"] < calm_accuracy["low"], (calm_accuracy, accuracy)
        assert accuracy["value"] < calm_accuracy["value"] - 0.05
        assert mae["low"] > calm_mae["high"], (calm_mae, mae)
        assert mae["value"] > 1.25 * calm_mae["value"]
        france = moved_risk["segments"][0]  # worst first: ranked by the estimate, no label
        assert (france["feature"], france["value"]) == ("country", "FR")
        assert france["ranked_by"]["metric"] == "estimated_accuracy"
        assert france["estimated"]["metrics"]["accuracy"]["value"] < accuracy["value"]
        # The policy on France's estimated accuracy fires, still without a label.
        _until("the policy on France to fire", server, 30, fired.exists)
        history = _cli(home, "policy", "history", "risk-api")
        assert "estimated_accuracy[country=FR]" in history, history

        # 4. The labels arrive late: realized beside the estimate, close to it.
        _label(client, "risk-api", calm_ids, pd.Series(_classified(ROWS, 10)[1]))
        _label(client, "risk-api", shifted_ids, shifted_y)
        _label(client, "price-api", price_calm_ids, price_calm_y)
        _label(client, "price-api", price_shifted_ids, price_shifted_y)
        labelled = _settled(client, "risk-api", ROWS, ROWS, start)
        labelled_risk = _until("the classifier's labels", server, 30, labelled)
        labelled = _settled(client, "price-api", ROWS, ROWS, start)
        labelled_price = _until("the regressor's labels", server, 30, labelled)
        for version, name in ((labelled_risk, "accuracy"), (labelled_price, "mae")):
            shown = version["estimated"]["metrics"][name]
            half = (shown["high"] - shown["low"]) / 2
            assert shown["realized"] == pytest.approx(version["quality"][name])
            assert abs(shown["realized"] - shown["value"]) <= 2 * half, (name, shown)
        realized_accuracy = labelled_risk["estimated"]["metrics"]["accuracy"]["realized"]
        assert realized_accuracy < calm_accuracy["reference"] - 0.05  # the shift was real
        # The CLI, over both windows (a CLI's start takes a moment, which a period of a few
        # seconds cannot spare): every row labelled, the realized value printed beside.
        both = json.loads(_cli(home, "monitor", "status", "risk-api", "--since", "1h", "--json"))
        shown = both["versions"][0]["estimated"]["metrics"]["accuracy"]
        assert both["versions"][0]["feedback"]["labeled"] == 2 * ROWS
        text = _cli(home, "monitor", "status", "risk-api", "--since", "1h")
        assert "estimated without labels" in text, text
        assert f"/ {shown['realized']:.3g}" in text, text
        price = _monitor(client, "price-api", "1h")
        assert price is not None
        shown = price["estimated"]["metrics"]["mae"]
        text = _cli(home, "monitor", "status", "price-api", "--since", "1h")
        assert "estimated without labels (DLE)" in text, text
        assert f"/ {shown['realized']:.3g}" in text, text

        # 5. Data quality over both windows: exactly what was sent.
        both = _monitor(client, "risk-api", "1h")
        assert both is not None
        quality = both["data_quality"]
        features = {f["feature"]: f for f in quality["features"]}
        assert features["c"]["rows"] == 2 * ROWS
        assert features["c"]["missing_share"] == pytest.approx(MISSING / (2 * ROWS))
        assert features["c"]["out_of_range_share"] == pytest.approx(
            OUT_OF_RANGE / (2 * ROWS - MISSING)
        )
        assert features["country"]["unseen_share"] == pytest.approx(UNSEEN / (2 * ROWS))
        assert features["a"]["missing_share"] == 0
        attempts = 2 * ROWS // PER_REQUEST + WRONG_TYPE
        assert quality["attempts"] == attempts
        assert quality["refused"] == {"wrong_type": WRONG_TYPE}
        assert quality["refused_shares"]["wrong_type"] == pytest.approx(WRONG_TYPE / attempts)
