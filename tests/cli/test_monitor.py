"""``modelyard drift``, ``monitor status|report|configure|prune|compact`` and ``feedback
import`` on a real SQLite yard: predictions come from the real recorder (or are logged as
rows), data files are written with pandas from seeded numpy."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import confusion_matrix
from sklearn.pipeline import Pipeline

from modelyard import Yard
from modelyard.domain.monitoring import MonitorSpec
from modelyard.domain.signature import Signature
from modelyard.monitoring.recorder import Recorder
from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.runner import Output
from tests.cli.conftest import Invoke, assert_one_line_error

ENDPOINT = "cancer-api"


def _json(result: Any) -> Any:
    assert result.exit_code in (0, 1), result.output
    return orjson.loads(result.stdout)


# -- drift ------------------------------------------------------------------------------------


def _sample(seed: int, rows: int = 2000, shift: tuple[str, ...] = ()) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(0.0, 1.0, rows),
            "y": rng.normal(10.0, 2.0, rows),
            "color": rng.choice(["red", "green", "blue"], rows, p=[0.5, 0.3, 0.2]),
        }
    )
    for column in shift:
        frame[column] += frame[column].std()  # one standard deviation up
    return frame


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    return _write(_sample(0), tmp_path / "reference.parquet")


def _drift(cli: Invoke, reference: Path, current: Path, *args: str) -> Any:
    return cli("drift", "--reference", str(reference), "--current", str(current), *args)


def test_the_same_distribution_does_not_drift(cli: Invoke, reference: Path, tmp_path) -> None:
    current = _write(_sample(1), tmp_path / "current.csv")  # CSV against Parquet
    result = _drift(cli, reference, current)
    assert result.exit_code == 0, result.output
    assert "dataset: no drift — 0 of 3 features drifted" in result.output
    report = _json(_drift(cli, reference, current, "--json"))
    assert report["verdict"] == "no drift"
    assert report["drift_share"] == 0


def test_a_shift_drifts_with_exit_code_1_and_the_json_shape(
    cli: Invoke, reference: Path, tmp_path
) -> None:
    current = _write(_sample(1, shift=("x", "y")), tmp_path / "current.parquet")
    shown = _drift(cli, reference, current)
    assert shown.exit_code == 1, shown.output
    assert "dataset: drift — 2 of 3 features drifted" in shown.output
    result = _drift(cli, reference, current, "--json")
    assert result.exit_code == 1
    report = _json(result)
    assert set(report) >= {"verdict", "drift_share", "drifted_features", "features"}
    assert report["verdict"] == "drift"
    assert report["drift_share"] == pytest.approx(2 / 3)
    assert report["drifted_features"] == ["x", "y"]
    features = {f["feature"]: f for f in report["features"]}
    assert set(features) == {"x", "y", "color"}
    x, color = features["x"], features["color"]
    assert (x["kind"], x["test"], x["threshold"], x["verdict"]) == (
        "numeric",
        "wasserstein",
        0.1,
        "drift",
    )
    assert set(x["values"]) == {"psi", "jensenshannon", "ks", "ks_p_value", "wasserstein"}
    assert x["values"]["wasserstein"] == pytest.approx(1.0, abs=0.1)  # one σ moved
    assert x["current_rows"] == x["reference_rows"] == 2000
    assert (color["kind"], color["test"], color["verdict"]) == (
        "categorical",
        "jensenshannon",
        "no drift",
    )
    assert set(color["values"]) == {"psi", "jensenshannon", "chi2_p_value"}


def test_drift_share_decides_the_dataset_verdict(cli: Invoke, reference: Path, tmp_path) -> None:
    current = _write(_sample(1, shift=("x",)), tmp_path / "current.parquet")
    assert _drift(cli, reference, current).exit_code == 0  # 1 of 3 < 0.5
    assert _drift(cli, reference, current, "--drift-share", "0.3").exit_code == 1


def test_exact_values_are_scipys(cli: Invoke, tmp_path) -> None:
    ref, cur = _sample(0, rows=500), _sample(1, rows=400, shift=("x",))
    reference = _write(ref, tmp_path / "r.parquet")
    current = _write(cur, tmp_path / "c.parquet")
    report = _json(_drift(cli, reference, current, "--exact", "--json", "--columns", "x"))
    values = report["features"][0]["values"]
    ks = stats.ks_2samp(ref["x"], cur["x"])
    assert values["ks"] == pytest.approx(ks.statistic, abs=1e-6)
    assert values["ks_p_value"] == pytest.approx(ks.pvalue, abs=1e-6)
    wasserstein = stats.wasserstein_distance(ref["x"], cur["x"]) / ref["x"].to_numpy().std()
    assert values["wasserstein"] == pytest.approx(wasserstein, abs=1e-6)
    binned = _json(_drift(cli, reference, current, "--json", "--columns", "x"))
    assert binned["features"][0]["values"]["ks"] != values["ks"]  # the bins are not scipy


def test_columns_restrict_the_comparison(cli: Invoke, reference: Path, tmp_path) -> None:
    current = _write(_sample(1, shift=("x", "y")), tmp_path / "current.parquet")
    only_color = _drift(cli, reference, current, "--json", "--columns", "color")
    assert only_color.exit_code == 0
    assert [f["feature"] for f in _json(only_color)["features"]] == ["color"]
    two = _json(_drift(cli, reference, current, "--json", "--columns", " x , color ,"))
    assert [f["feature"] for f in two["features"]] == ["x", "color"]
    assert two["drift_share"] == 0.5


def test_too_few_current_rows_give_no_verdict(cli: Invoke, reference: Path, tmp_path) -> None:
    current = _write(_sample(1, rows=50, shift=("x", "y")), tmp_path / "small.parquet")
    result = _drift(cli, reference, current, "--json")
    assert result.exit_code == 0
    report = _json(result)
    assert report["verdict"] == "not enough data"
    assert report["drift_share"] is None
    assert {f["verdict"] for f in report["features"]} == {"not enough data"}
    judged = _json(_drift(cli, reference, current, "--json", "--min-rows", "10"))
    x = next(f for f in judged["features"] if f["feature"] == "x")
    assert (x["test"], x["threshold"], x["verdict"]) == ("ks_p_value", 0.05, "drift")


def test_tests_and_thresholds_can_be_chosen(cli: Invoke, reference: Path, tmp_path) -> None:
    current = _write(_sample(1, shift=("x", "y")), tmp_path / "current.parquet")
    lenient = _drift(cli, reference, current, "--json", "--threshold", "wasserstein=5")
    assert lenient.exit_code == 0
    x = _json(lenient)["features"][0]
    assert (x["test"], x["threshold"], x["verdict"]) == ("wasserstein", 5.0, "no drift")
    by_psi = _drift(
        cli,
        reference,
        current,
        "--json",
        "--numeric-test",
        "psi",
        "--threshold",
        "psi=0.25",
        "--categorical-test",
        "psi",
    )
    features = {f["feature"]: f for f in _json(by_psi)["features"]}
    assert (features["x"]["test"], features["x"]["threshold"]) == ("psi", 0.25)
    assert (features["color"]["test"], features["color"]["threshold"]) == ("psi", 0.25)


def test_chi2_can_judge_categorical_columns(cli: Invoke, reference: Path, tmp_path) -> None:
    current = _write(_sample(1), tmp_path / "current.parquet")
    result = _drift(cli, reference, current, "--json", "--categorical-test", "chi2")
    assert result.exit_code == 0, result.output
    color = next(f for f in _json(result)["features"] if f["feature"] == "color")
    assert color["verdict"] == "no drift"


def test_a_numeric_column_that_is_text_in_the_current_data(
    cli: Invoke, reference: Path, tmp_path
) -> None:
    current = _sample(1)
    current["x"] = [f"v{i}" for i in range(len(current))]
    result = _drift(cli, reference, _write(current, tmp_path / "current.parquet"))
    assert_one_line_error(result, 2, "column 'x': numeric in the reference")


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"PAR1 this is not parquet at all")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header = tmp_path / "header.csv"
    header.write_text("x,y,color\n")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 40)
    return {
        "missing": tmp_path / "missing.parquet",
        "garbage": garbage,
        "empty": empty,
        "header": header,
        "folder": folder,
        "text": tmp_path / "notes.txt",
        "binary": binary,
        "narrow": _write(_sample(1)[["x"]], tmp_path / "narrow.parquet"),
    }


@pytest.mark.parametrize(
    ("current", "message"),
    [
        ("missing", "missing.parquet: no such file"),
        ("garbage", "garbage.parquet: cannot read as parquet"),
        ("empty", "empty.csv: cannot read as csv"),
        ("header", "the current data has no rows"),
        ("folder", "folder.csv: no such file"),
        ("text", "notes.txt: unsupported data format .txt"),
        ("binary", "binary.csv: cannot read as csv"),
        ("narrow", "column(s) 'y', 'color' missing from the current data"),
    ],
)
def test_files_that_cannot_be_compared_exit_2(
    cli: Invoke, reference: Path, tmp_path, current: str, message: str
) -> None:
    result = _drift(cli, reference, _bad_files(tmp_path)[current])
    assert_one_line_error(result, 2, message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--columns", "nope"], "column(s) 'nope' missing from the reference data"),
        (["--numeric-test", "t-test"], "numeric_test 't-test': must be one of wasserstein"),
        (["--categorical-test", "ks"], "categorical_test 'ks': must be one of"),
        (["--threshold", "psi"], "--threshold 'psi': expected KEY=VALUE"),
        (["--threshold", "=0.1"], "expected KEY=VALUE"),
        (["--threshold", "psi=abc"], "--threshold psi=abc: the value must be a number"),
        (["--threshold", "anova=0.1"], "threshold for 'anova': unknown test"),
        (["--threshold", "psi=-1"], "threshold for psi must be a number above 0 and at most 10"),
        (["--threshold", "psi=nan"], "threshold for psi must be a number above 0 and at most 10"),
        (["--threshold", "psi=1e400"], "threshold for psi must be a number above 0 and at most 10"),
        (["--drift-share", "1.5"], "drift_share must be a number above 0 and at most 1"),
        (["--min-rows", "-1"], "min_rows must be a whole number"),
    ],
)
def test_bad_options_exit_2(
    cli: Invoke, reference: Path, tmp_path, args: list[str], message: str
) -> None:
    current = _write(_sample(1), tmp_path / "current.parquet")
    assert_one_line_error(_drift(cli, reference, current, *args), 2, message)


def test_a_bad_bin_count_is_one_line(cli: Invoke, reference: Path) -> None:
    assert_one_line_error(_drift(cli, reference, reference, "--bins", "1"), 2, "bins")


# -- a yard with an endpoint ----------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, logreg: Pipeline, cancer) -> Path:
    """The yard the ``cli`` fixture opens, with cancer@1 served as cancer-api."""
    X, _ = cancer
    with Yard(tmp_path / "home", actor="tester") as yard:
        yard.register(logreg, "cancer", sample=X)
        yard.create_endpoint(ENDPOINT, "cancer@1")
    return tmp_path / "home"


def _record(
    home: Path,
    model: Pipeline,
    frame: pd.DataFrame,
    at: float | None = None,
    *,
    endpoint: str = ENDPOINT,
    ref: str = "cancer@1",
) -> list[str]:
    """Rows predicted and counted by the server's own recorder (log rows and sketches)."""
    with Yard(home, actor="server") as yard:
        signature = Signature.from_dict(yard.get_version(ref).signature)
        stamp = time.time() if at is None else at
        recorder = Recorder(yard, clock=lambda: stamp)
        ids = [uuid.uuid4().hex for _ in range(len(frame))]
        recorder.predicted(
            PredictionEvent(
                endpoint,
                ref,
                from_frame(signature, frame),
                Output(model.predict(frame), model.predict_proba(frame)),
                ids,
                latency_ms=5.0,
                at=stamp,
                log_inputs=0.0,
            )
        )
        recorder.flush()
    return ids


def _log(home: Path, ids: list[str], created_at: datetime, prediction: int = 1) -> None:
    """Prediction rows as a server logs them, without sketches."""
    with Yard(home) as yard:
        yard.log_predictions(
            [
                {
                    "id": pid,
                    "endpoint": ENDPOINT,
                    "version": "cancer@1",
                    "created_at": created_at,
                    "latency_ms": 3.0,
                    "prediction": orjson.dumps(prediction).decode(),
                    "scores": "[0.3, 0.7]" if prediction else "[0.8, 0.2]",
                    "routing_key": None,
                    "inputs": None,
                }
                for pid in ids
            ]
        )


def _labels(path: Path, rows: dict[str, list[Any]]) -> Path:
    return _write(pd.DataFrame(rows), path)


def _stored(home: Path, prediction_id: str) -> dict[str, Any] | None:
    with Yard(home) as yard:
        return yard.stores.predictions.get(prediction_id)


# -- monitor status ---------------------------------------------------------------------------


def test_status_of_an_endpoint_without_traffic(cli: Invoke, home: Path) -> None:
    result = cli("monitor", "status", ENDPOINT)
    assert result.exit_code == 0, result.output
    assert "cancer-api: no traffic recorded in the last 1h" in result.output
    summary = _json(cli("monitor", "status", ENDPOINT, "--json"))
    assert summary["endpoint"] == ENDPOINT
    assert summary["versions"] == []
    assert summary["drift_config"]["numeric_test"] == "wasserstein"


def test_status_of_served_and_labelled_traffic(
    cli: Invoke, home: Path, tmp_path, logreg, cancer
) -> None:
    X, y = cancer
    ids = _record(home, logreg, X.iloc[:200])
    labels = [int(v) for v in y.iloc[:120]]
    _labels(tmp_path / "labels.csv", {"prediction_id": ids[:120], "actual": labels})
    imported = cli("feedback", "import", str(tmp_path / "labels.csv"), "--endpoint", ENDPOINT)
    assert imported.exit_code == 0, imported.output
    assert "120 accepted, 0 updated, 0 duplicates, 0 unknown ids, 0 invalid" in imported.output

    summary = _json(cli("monitor", "status", ENDPOINT, "--json"))
    (version,) = summary["versions"]
    assert (version["version"], version["requests"], version["rows"]) == ("cancer@1", 1, 200)
    assert version["feedback"]["labeled"] == 120
    assert version["feedback"]["coverage"] == pytest.approx(0.6)
    accuracy = float(np.mean(logreg.predict(X.iloc[:120]) == y.iloc[:120]))
    assert version["quality"]["labeled"] == 120
    assert version["quality"]["accuracy"] == pytest.approx(accuracy)
    assert {f["feature"] for f in version["drift"]["features"]} == set(X.columns)
    shown = cli("monitor", "status", ENDPOINT)
    assert shown.exit_code == 0, shown.output
    assert "cancer-api, last 1h" in shown.output
    row = next(line for line in shown.output.splitlines() if "cancer@1" in line)
    assert "200" in row  # piped output keeps every cell whole, however wide the table
    assert "coverage 60.0 % (120 of 200 rows), median lag" in row


def test_status_shows_refused_requests_and_server_errors_apart(
    cli: Invoke, home: Path, logreg, cancer
) -> None:
    X, _ = cancer
    _record(home, logreg, X.iloc[:50])  # one request answered
    with Yard(home, actor="server") as yard:
        recorder = Recorder(yard)
        for status in (422, 422, 400, 503):  # three refused, one server error
            recorder.failed(ENDPOINT, "cancer@1", status)
        recorder.flush()

    (version,) = _json(cli("monitor", "status", ENDPOINT, "--json"))["versions"]
    assert version["client_error_rate"] == pytest.approx(0.6)  # --json keeps fractions
    assert version["error_rate"] == pytest.approx(0.2)
    shown = cli("monitor", "status", ENDPOINT)
    assert shown.exit_code == 0, shown.output
    assert "4xx (refused)" in shown.output
    assert "5xx (server errors)" in shown.output
    row = next(line for line in shown.output.splitlines() if "cancer@1" in line)
    assert "60.0 %" in row
    assert "20.0 %" in row


def test_status_says_why_a_version_has_no_drift(cli: Invoke, home: Path, logreg, cancer) -> None:
    X, _ = cancer
    with Yard(home, actor="tester") as yard:
        yard.register(logreg, "cancer")  # cancer@2, with no sample: no reference profile
        yard.create_endpoint("bare-api", "cancer@2")
    _record(home, logreg, X.iloc[:200], endpoint="bare-api", ref="cancer@2")
    _record(home, logreg, X.iloc[:200])

    (bare,) = _json(cli("monitor", "status", "bare-api", "--json"))["versions"]
    assert (bare["rows"], bare["drift"], bare["drift_share"]) == (200, None, None)
    assert bare["drift_unavailable"] == "no reference sample: drift cannot be computed"
    shown = cli("monitor", "status", "bare-api")
    assert shown.exit_code == 0, shown.output
    table, footnote = shown.stdout.rsplit("┘", 1)
    assert "—*" in table  # the drift share's dash points at the footnote
    footnote = " ".join(footnote.split())
    assert footnote.startswith("* cancer@2: no reference sample: drift cannot be computed")
    assert "add one with `modelyard profile set NAME@V --sample FILE`" in footnote

    (served,) = _json(cli("monitor", "status", ENDPOINT, "--json"))["versions"]
    assert served["drift_unavailable"] is None
    assert "* cancer@1" not in cli("monitor", "status", ENDPOINT).stdout


def test_status_of_logged_predictions_with_feedback(cli: Invoke, home: Path) -> None:
    now = datetime.now(UTC)
    right, wrong = [f"r{i}" for i in range(6)], [f"w{i}" for i in range(4)]
    _log(home, right + wrong, now - timedelta(minutes=5), prediction=1)
    with Yard(home) as yard:
        result = yard.add_feedback(ENDPOINT, [(p, "1") for p in right] + [(p, "0") for p in wrong])
    assert result.accepted == 10
    summary = _json(cli("monitor", "status", ENDPOINT, "--json"))
    (version,) = summary["versions"]
    assert version["version"] == "cancer@1"
    assert version["quality"]["labeled"] == 10
    assert version["quality"]["accuracy"] == pytest.approx(0.6)
    assert version["feedback"]["lag_seconds_p50"] >= 300
    # no sketch in the period: every feature is "not enough data", with no value made up
    assert version["drift"]["verdict"] == "not enough data"
    assert all(f["values"] == {} for f in version["drift"]["features"])
    recent = _json(cli("monitor", "status", ENDPOINT, "--since", "1m", "--json"))
    assert recent["versions"] == []  # made five minutes ago


def test_status_with_a_label_outside_the_classes(
    cli: Invoke, home: Path, tmp_path, logreg, cancer
) -> None:
    X, _ = cancer
    ids = _record(home, logreg, X.iloc[:10])
    with Yard(home) as yard:
        yard.add_feedback(ENDPOINT, [(ids[0], "1"), (ids[1], '"benign"')])
    result = cli("monitor", "status", ENDPOINT, "--json")
    assert result.exit_code == 0, result.output
    assert _json(result)["versions"][0]["quality"]["labeled"] == 2


def test_status_of_an_unknown_endpoint_exits_3(cli: Invoke, home: Path) -> None:
    assert_one_line_error(cli("monitor", "status", "nope-api"), 3, "endpoint 'nope-api' not found")


@pytest.mark.parametrize(
    ("since", "rule"),
    [
        ("3x", "expected a whole number and a unit"),
        ("-1h", "expected a whole number and a unit"),
        ("1.5d", "expected a whole number and a unit"),
        ("", "expected a whole number and a unit"),
        ("0m", "the number must be from 1 to 10000"),
        ("10001d", "the number must be from 1 to 10000"),
        ("9" * 500 + "s", "the number must be from 1 to 10000"),
    ],
)
def test_a_bad_since_exits_2(cli: Invoke, home: Path, since: str, rule: str) -> None:
    for command in ("status", "report"):
        result = cli("monitor", command, ENDPOINT, f"--since={since}")
        assert_one_line_error(result, 2, rule)


def test_a_superscript_digit_in_since_exits_2(cli: Invoke, home: Path) -> None:
    assert_one_line_error(cli("monitor", "status", ENDPOINT, "--since", "²h"), 2, "period")


# -- monitor report ---------------------------------------------------------------------------


def test_report_as_json_and_html(cli: Invoke, home: Path, tmp_path, logreg, cancer) -> None:
    X, _ = cancer
    _record(home, logreg, X.iloc[:150])
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    written = cli("monitor", "report", ENDPOINT, "--format", "json", "--out", str(out))
    assert written.exit_code == 0, written.output
    assert f"wrote{out}" in "".join(written.output.split())  # the terminal may wrap the path
    report = orjson.loads(out.read_bytes())
    (version,) = report["versions"]
    assert version["rows"] == 150
    assert set(version["histograms"]) == set(X.columns)
    page = tmp_path / "out" / "report.html"
    html = cli("monitor", "report", ENDPOINT, "--since", "2h", "--out", str(page))
    assert html.exit_code == 0, html.output
    text = page.read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith("<!doctype html")
    assert "cancer-api" in text


def test_report_goes_to_the_current_folder_by_default(
    cli: Invoke, home: Path, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("monitor", "report", ENDPOINT, "--format", "json").exit_code == 0
    assert orjson.loads((tmp_path / "cancer-api-report.json").read_bytes())["versions"] == []


def test_report_mistakes(cli: Invoke, home: Path, tmp_path) -> None:
    assert_one_line_error(
        cli("monitor", "report", ENDPOINT, "--format", "pdf", "--out", str(tmp_path / "r.pdf")),
        2,
        "--format 'pdf': use html or json",
    )
    assert_one_line_error(
        cli("monitor", "report", "nope-api", "--format", "json", "--out", str(tmp_path / "r")),
        3,
        "endpoint 'nope-api' not found",
    )
    nowhere = tmp_path / "no-such-folder" / "r.json"
    result = cli("monitor", "report", ENDPOINT, "--format", "json", "--out", str(nowhere))
    assert_one_line_error(result, 2, "No such file or directory")
    assert not nowhere.parent.exists()


# -- monitor configure -------------------------------------------------------------------------


def test_configure_round_trip(cli: Invoke, home: Path) -> None:
    result = cli(
        "monitor",
        "configure",
        ENDPOINT,
        "--log-inputs",
        "0.25",
        "--numeric-test",
        "psi",
        "--categorical-test",
        "chi2",
        "--threshold",
        "psi=0.3",
        "--threshold",
        "ks=0.2",
        "--drift-share",
        "0.4",
        "--min-rows",
        "200",
        "--large-rows",
        "5000",
        "--p-value",
        "0.01",
        "--reason",
        "noisy features",
        "--json",
    )
    configured = _json(result)
    assert configured["log_inputs"] == 0.25
    drift = configured["drift"]
    assert drift == {
        "numeric_test": "psi",
        "categorical_test": "chi2",
        "thresholds": {"wasserstein": 0.1, "psi": 0.3, "ks": 0.2, "jensenshannon": 0.1},
        "p_value": 0.01,
        "large_rows": 5000,
        "min_rows": 200,
        "drift_share": 0.4,
    }
    shown = _json(cli("endpoint", "show", ENDPOINT, "--json"))
    assert shown["endpoint"]["monitoring"] == configured
    # settings not given keep their value; thresholds merge
    again = cli("monitor", "configure", ENDPOINT, "--min-rows", "50", "--threshold", "psi=0.5")
    assert again.exit_code == 0, again.output
    assert "cancer-api: log_inputs 0.25, numeric psi, categorical chi2" in again.output
    with Yard(home) as yard:
        spec = yard.get_endpoint(ENDPOINT).monitoring
        events = yard.audit(action="endpoint.update")
    assert (spec.log_inputs, spec.drift.min_rows, spec.drift.large_rows) == (0.25, 50, 5000)
    assert (spec.drift.threshold("psi"), spec.drift.threshold("ks")) == (0.5, 0.2)
    assert [e.details["reason"] for e in events] == ["", "noisy features"]  # newest first
    status = _json(cli("monitor", "status", ENDPOINT, "--json"))
    assert status["drift_config"]["numeric_test"] == "psi"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--log-inputs", "2"], "log_inputs must be a number from 0 to 1, got 2.0"),
        (["--log-inputs=-0.1"], "log_inputs must be a number from 0 to 1"),
        (["--log-inputs", "nan"], "log_inputs must be a number from 0 to 1"),
        (["--numeric-test", "chi2"], "numeric_test 'chi2': must be one of"),
        (["--categorical-test", "wasserstein"], "categorical_test 'wasserstein': must be one"),
        (["--threshold", "chi2=0.1"], "threshold for 'chi2': unknown test"),
        (["--threshold", "psi=high"], "--threshold psi=high: the value must be a number"),
        (["--threshold", "psi:0.2"], "--threshold 'psi:0.2': expected KEY=VALUE"),
        (["--threshold", "psi=11"], "threshold for psi must be a number above 0 and at most 10"),
        (["--drift-share", "2"], "drift_share must be a number above 0 and at most 1"),
        (["--p-value", "-0.5"], "p_value must be a number above 0 and at most 1"),
        (["--min-rows", "-3"], "min_rows must be a whole number"),
        (["--large-rows", "99999999999"], "large_rows must be a whole number"),
    ],
)
def test_configure_refuses_bad_values_and_changes_nothing(
    cli: Invoke, home: Path, args: list[str], message: str
) -> None:
    assert_one_line_error(cli("monitor", "configure", ENDPOINT, *args), 2, message)
    with Yard(home) as yard:
        assert yard.get_endpoint(ENDPOINT).monitoring == MonitorSpec()


def test_configure_segments_keeps_the_other_settings_and_checks_the_feature(
    cli: Invoke, home: Path
) -> None:
    assert cli("monitor", "configure", ENDPOINT, "--log-inputs", "0.5").exit_code == 0
    result = cli(
        "monitor", "configure", ENDPOINT, "--segment-by", "mean radius", "--segment-top", "5",
        "--json",
    )  # fmt: skip
    assert _json(result)["segments"] == {"features": ["mean radius"], "top": 5}
    assert cli("monitor", "configure", ENDPOINT, "--min-rows", "50").exit_code == 0
    with Yard(home) as yard:
        spec = yard.get_endpoint(ENDPOINT).monitoring
    assert (spec.log_inputs, spec.segments.features) == (0.5, ("mean radius",))
    refused = cli("monitor", "configure", ENDPOINT, "--segment-by", "country")
    assert_one_line_error(refused, 2, "segment_by 'country': not an input of the model")
    by = cli("monitor", "status", ENDPOINT, "--by", "country")
    assert_one_line_error(by, 2, "by 'country': endpoint 'cancer-api' is not monitored")


def test_configure_an_unknown_endpoint_exits_3(cli: Invoke, home: Path) -> None:
    result = cli("monitor", "configure", "nope-api", "--log-inputs", "0.1")
    assert_one_line_error(result, 3, "endpoint 'nope-api' not found")


# -- monitor prune ------------------------------------------------------------------------------


@pytest.fixture
def aged(home: Path, logreg: Pipeline, cancer) -> dict[str, list[str]]:
    """Three predictions from 40 days ago (one labelled, with a sketch), two from today."""
    X, _ = cancer
    old = _record(home, logreg, X.iloc[:3], at=time.time() - 40 * 86_400)
    new = [f"new-{i}" for i in range(2)]
    _log(home, new, datetime.now(UTC) - timedelta(minutes=1))
    with Yard(home) as yard:
        assert yard.add_feedback(ENDPOINT, [(old[0], "1"), (new[0], "1")]).accepted == 2
    return {"old": old, "new": new}


def test_prune_dry_run_counts_and_deletes_nothing(
    cli: Invoke, home: Path, aged: dict[str, list[str]]
) -> None:
    counted = _json(cli("monitor", "prune", "--older-than", "30d", "--dry-run", "--json"))
    assert (counted["predictions"], counted["feedback"], counted["windows"]) == (3, 1, 1)
    shown = cli("monitor", "prune", "--older-than", "30d", "--dry-run")
    assert shown.exit_code == 0
    assert "would delete 3 predictions, 1 feedback rows and 1 windows" in " ".join(
        shown.output.split()
    )
    assert all(_stored(home, pid) is not None for pid in aged["old"] + aged["new"])
    assert _stored(home, aged["old"][0])["actual"] == "1"  # type: ignore[index]


def test_prune_deletes_what_is_older_only(
    cli: Invoke, home: Path, aged: dict[str, list[str]]
) -> None:
    assert _json(cli("monitor", "prune", "--older-than", "60d", "--json"))["predictions"] == 0
    result = cli("monitor", "prune", "--older-than", "30d")
    assert result.exit_code == 0, result.output
    assert "deleted 3 predictions, 1 feedback rows and 1 windows" in " ".join(result.output.split())
    assert [_stored(home, pid) for pid in aged["old"]] == [None, None, None]
    assert _stored(home, aged["new"][0])["actual"] == "1"  # type: ignore[index]
    assert _stored(home, aged["new"][1]) is not None
    again = _json(cli("monitor", "prune", "--older-than", "30d", "--json"))
    assert (again["predictions"], again["feedback"], again["windows"]) == (0, 0, 0)
    with Yard(home) as yard:
        events = yard.audit(action="monitor.prune")  # newest first
    assert [e.details["predictions"] for e in events] == [0, 3, 0]


@pytest.mark.parametrize("older_than", ["30", "thirty days", "0d", "-5d", "20000d"])
def test_prune_refuses_a_bad_period(cli: Invoke, home: Path, older_than: str) -> None:
    result = cli("monitor", "prune", f"--older-than={older_than}")
    assert_one_line_error(result, 2, "period")


def test_compact_folds_the_old_window_into_an_hourly_one(
    cli: Invoke, home: Path, aged: dict[str, list[str]]
) -> None:
    result = cli("monitor", "compact")
    assert result.exit_code == 0, result.output
    assert "folded 1 windows into 1 hourly ones" in result.output
    assert _json(cli("monitor", "compact", "--json"))["windows"] == 0
    with Yard(home) as yard:
        (window,) = yard.stores.windows.read(
            ENDPOINT, datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC)
        )
    assert (window.bucket_seconds, window.sketch["rows"]) == (3600, 3)


@pytest.mark.parametrize(("older_than", "message"), [("30m", "at least 1h"), ("soon", "period")])
def test_compact_refuses_recent_or_bad_periods(
    cli: Invoke, home: Path, older_than: str, message: str
) -> None:
    assert_one_line_error(cli("monitor", "compact", "--older-than", older_than), 2, message)


# -- feedback import ---------------------------------------------------------------------------


@pytest.fixture
def logged(home: Path) -> list[str]:
    ids = [f"pred-{i}" for i in range(5)]
    _log(home, ids, datetime.now(UTC) - timedelta(minutes=2))
    return ids


def _import(cli: Invoke, path: Path, *args: str) -> Any:
    return cli("feedback", "import", str(path), "--endpoint", ENDPOINT, *args)


def test_import_labels_then_repeat_and_correct_them(
    cli: Invoke, home: Path, logged: list[str], tmp_path
) -> None:
    labels = _labels(tmp_path / "labels.csv", {"prediction_id": logged, "actual": [1, 0, 1, 0, 1]})
    first = _import(cli, labels)
    assert first.exit_code == 0, first.output
    assert "5 accepted, 0 updated, 0 duplicates, 0 unknown ids, 0 invalid" in first.output
    assert [_stored(home, p)["actual"] for p in logged] == ["1", "0", "1", "0", "1"]  # type: ignore[index]
    repeated = _json(_import(cli, labels, "--json"))
    assert (repeated["accepted"], repeated["duplicates"]) == (0, 5)
    fixed = _labels(tmp_path / "fixed.csv", {"prediction_id": logged[:2], "actual": [0, 0]})
    assert _json(_import(cli, fixed, "--json"))["updated"] == 1
    assert _stored(home, logged[0])["actual"] == "0"  # type: ignore[index]


def test_import_from_parquet_with_other_column_names(
    cli: Invoke, home: Path, logged: list[str], tmp_path
) -> None:
    path = _labels(
        tmp_path / "labels.parquet",
        {"id": logged[:2], "outcome": ["malignant", "benign"], "note": ["a", "b"]},
    )
    result = _import(cli, path, "--id-column", "id", "--actual-column", "outcome", "--json")
    assert _json(result)["accepted"] == 2
    assert _stored(home, logged[0])["actual"] == '"malignant"'  # type: ignore[index]


def test_import_lists_unknown_ids_and_invalid_rows(
    cli: Invoke, home: Path, logged: list[str], tmp_path
) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        "prediction_id,actual\n"
        f"{logged[0]},1\n"
        "nope,1\n"
        f"{logged[1]},\n"
        f",1\n"
        f"{logged[2]},{'x' * 1001}\n"
        '"\'; DROP TABLE feedback; --",0\n'
        f"{'z' * 65},1\n"
    )
    shown = _import(cli, path)
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert "1 accepted, 0 updated, 0 duplicates, 2 unknown ids, 4 invalid" in text
    assert "row 2: unknown prediction id 'nope'" in text
    assert "row 3: actual must not be null" in text
    result = _json(_import(cli, path, "--json"))
    assert result["duplicates"] == 1
    assert result["unknown"] == [
        {"row": 2, "prediction_id": "nope"},
        {"row": 6, "prediction_id": "'; DROP TABLE feedback; --"},
    ]
    assert [(p["row"], p["field"], p["rule"]) for p in result["invalid"]] == [
        (3, "actual", "must not be null"),
        (4, "prediction_id", "must be a non-empty string"),
        (5, "actual", "text longer than 1000 characters"),
        (7, "prediction_id", "longer than 64 characters"),
    ]
    assert _stored(home, logged[1])["actual"] is None  # type: ignore[index]


def test_import_json_invalid_entries_name_only_the_row(
    cli: Invoke, home: Path, logged: list[str], tmp_path
) -> None:
    path = _labels(tmp_path / "labels.csv", {"prediction_id": logged[:1], "actual": [None]})
    (problem,) = _json(_import(cli, path, "--json"))["invalid"]
    assert set(problem) == {"row", "field", "rule"}


def test_import_numbers_rows_across_chunks(cli: Invoke, home: Path, tmp_path) -> None:
    known = [f"k{i}" for i in range(1200)]
    _log(home, known, datetime.now(UTC) - timedelta(minutes=1))
    ids = known + [f"u{i}" for i in range(1300)]
    actuals: list[float | None] = [1.0] * len(ids)
    actuals[1999] = None  # row 2000
    path = _labels(tmp_path / "many.parquet", {"prediction_id": ids, "actual": actuals})
    result = _json(_import(cli, path, "--json"))
    assert result["accepted"] == 1200
    assert len(result["unknown"]) == 1299
    assert result["unknown"][0] == {"row": 1201, "prediction_id": "u0"}
    assert result["unknown"][-1] == {"row": 2500, "prediction_id": "u1299"}
    assert [(p["row"], p["field"]) for p in result["invalid"]] == [(2000, "actual")]
    shown = _import(cli, path)
    assert "(--json lists them all)" in shown.output


def test_import_mistakes(cli: Invoke, home: Path, logged: list[str], tmp_path) -> None:
    labels = _labels(tmp_path / "labels.csv", {"prediction_id": logged, "label": [1] * 5})
    assert_one_line_error(_import(cli, labels), 2, "labels.csv: no column 'actual'")
    result = _import(cli, labels, "--actual-column", "label", "--id-column", "pid")
    assert_one_line_error(result, 2, "labels.csv: no column 'pid'")
    assert_one_line_error(_import(cli, tmp_path / "gone.csv"), 3, "gone.csv: no such file")
    notes = tmp_path / "labels.txt"
    notes.write_text("prediction_id,actual\n")
    assert_one_line_error(_import(cli, notes), 2, "unsupported data format .txt")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"\x00" * 64)
    assert_one_line_error(_import(cli, broken), 2, "cannot read as parquet")
    good = _labels(tmp_path / "good.csv", {"prediction_id": logged, "actual": [1] * 5})
    elsewhere = cli("feedback", "import", str(good), "--endpoint", "nope-api")
    assert_one_line_error(elsewhere, 3, "endpoint 'nope-api' not found")
    assert all(_stored(home, p)["actual"] is None for p in logged)  # type: ignore[index]


def test_status_shows_quality_per_class_and_data_quality(
    cli: Invoke, home: Path, tmp_path, logreg, cancer
) -> None:
    X, y = cancer
    ids = _record(home, logreg, X.iloc[:200])
    _labels(tmp_path / "labels.csv", {"prediction_id": ids[:120], "actual": y.iloc[:120].tolist()})
    assert (
        cli("feedback", "import", str(tmp_path / "labels.csv"), "--endpoint", ENDPOINT).exit_code
        == 0
    )
    (version,) = _json(cli("monitor", "status", ENDPOINT, "--json"))["versions"]
    predicted = [str(p) for p in logreg.predict(X.iloc[:120])]
    actual = [str(a) for a in y.iloc[:120]]
    matrix = confusion_matrix(actual, predicted, labels=["0", "1"]).tolist()
    assert version["per_class"]["confusion_matrix"] == matrix
    assert version["data_quality"]["features"][0]["rows"] == 200
    shown = " ".join(cli("monitor", "status", ENDPOINT).stdout.split())  # titles wrap
    assert "quality per class from feedback" in shown
    assert "confusion matrix (rows: actual, columns: predicted)" in shown
    assert "cancer@1: no missing, out-of-range or unseen values" in shown
