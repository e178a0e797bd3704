from pathlib import Path

import orjson
import pandas as pd
import skops.io as sio
from sklearn.pipeline import Pipeline

from tests.cli.conftest import Invoke, assert_one_line_error


def _files(tmp_path: Path, model: Pipeline, X: pd.DataFrame) -> tuple[Path, Path]:
    model_file = tmp_path / "model.skops"
    sio.dump(model, model_file)
    sample = tmp_path / "sample.csv"
    X.to_csv(sample, index=False)
    return model_file, sample


def test_register_then_list_show_versions(cli: Invoke, tmp_path: Path, logreg, cancer) -> None:
    model_file, sample = _files(tmp_path, logreg, cancer[0])
    done = cli(
        "register",
        str(model_file),
        "--name",
        "churn",
        "--sample",
        str(sample),
        "--metric",
        "auc=0.99",
        "--param",
        "C=1",
        "--json",
    )
    assert done.exit_code == 0, done.output
    assert orjson.loads(done.output)["version"] == 1
    listed = orjson.loads(cli("models", "list", "--json").output)
    assert [m["name"] for m in listed] == ["churn"]
    shown = orjson.loads(cli("models", "show", "churn@1", "--json").output)
    assert shown["metrics"] == {"auc": 0.99}
    assert len(shown["signature"]["inputs"]) == 30
    table = cli("models", "versions", "churn")
    assert table.exit_code == 0
    assert "auc=0.99" in table.output


def test_alias_set_expect_history_and_rollback(cli: Invoke, tmp_path: Path, logreg, cancer) -> None:
    model_file, sample = _files(tmp_path, logreg, cancer[0])
    for _ in range(2):
        cli("register", str(model_file), "--name", "churn", "--sample", str(sample))
    assert cli("alias", "set", "churn", "production", "1").exit_code == 0
    assert cli("alias", "set", "churn", "production", "2", "--expect", "1").exit_code == 0
    stale = cli("alias", "set", "churn", "production", "1", "--expect", "1")
    assert_one_line_error(stale, 4, "points at version 2, not 1")
    back = cli("rollback", "churn", "--reason", "bad canary")
    assert back.exit_code == 0, back.output
    assert orjson.loads(cli("alias", "show", "churn", "--json").output) == {"production": 1}
    history = orjson.loads(cli("alias", "history", "churn", "production", "--json").output)
    assert [(e["kind"], e["to_version"]) for e in history] == [
        ("set", 1),
        ("set", 2),
        ("rollback", 1),
    ]
    assert history[-1]["actor"] == "cli-tester"
    assert history[-1]["reason"] == "bad canary"


def test_archive_refused_while_aliased_then_allowed(
    cli: Invoke, tmp_path: Path, logreg, cancer
) -> None:
    model_file, sample = _files(tmp_path, logreg, cancer[0])
    cli("register", str(model_file), "--name", "churn", "--sample", str(sample))
    cli("alias", "set", "churn", "production", "1")
    assert_one_line_error(cli("archive", "churn", "1"), 4, "churn@production points to it")
    assert_one_line_error(cli("models", "delete", "churn@1"), 4, "points to it")
    cli("alias", "delete", "churn", "production")
    assert cli("archive", "churn", "1").exit_code == 0
    assert "archived" in cli("models", "versions", "churn").output


def test_lineage_and_audit_json(cli: Invoke, tmp_path: Path, logreg, cancer) -> None:
    model_file, sample = _files(tmp_path, logreg, cancer[0])
    cli("register", str(model_file), "--name", "churn", "--sample", str(sample))
    lineage = orjson.loads(cli("lineage", "churn@1", "--json").output)
    assert lineage["version"]["ref"] == "churn@1"
    assert "scikit-learn" in lineage["environment"]["libraries"]
    events = orjson.loads(cli("audit", "--json").output)
    assert events[0]["action"] == "register"
    assert events[0]["actor"] == "cli-tester"


def test_bad_input_gets_one_line_and_exit_code(cli: Invoke, tmp_path: Path, logreg, cancer) -> None:
    model_file, _sample = _files(tmp_path, logreg, cancer[0])
    assert_one_line_error(cli("models", "show", "nope"), 3, "model 'nope' not found")
    assert_one_line_error(cli("models", "show", "Bad/../name"), 2, "invalid model name")
    assert_one_line_error(
        cli("register", str(tmp_path / "missing.onnx"), "--name", "x"), 3, "no such file"
    )
    weird = tmp_path / "model.txt"
    weird.write_text("hello")
    assert_one_line_error(cli("register", str(weird), "--name", "x"), 2, "unsupported file type")
    assert_one_line_error(
        cli("register", str(model_file), "--name", "x", "--metric", "auc"), 2, "expected KEY=VALUE"
    )
    assert_one_line_error(
        cli("register", str(model_file), "--name", "x", "--metric", "a=b"), 2, "must be a number"
    )
    bad_sample = tmp_path / "bad.csv"
    cancer[0].drop(columns=["mean radius"]).to_csv(bad_sample, index=False)
    assert_one_line_error(
        cli("register", str(model_file), "--name", "x", "--sample", str(bad_sample)),
        2,
        "missing mean radius",
    )
    assert_one_line_error(cli("alias", "set", "x", "production", "1"), 3, "not found")
    assert orjson.loads(cli("models", "list", "--json").output) == []


def test_pickle_needs_trust_flag(cli: Invoke, tmp_path: Path, logreg, cancer) -> None:
    import joblib

    pickled = tmp_path / "model.joblib"
    joblib.dump(logreg, pickled)
    assert_one_line_error(cli("register", str(pickled), "--name", "churn"), 5, "--trust-pickle")
    done = cli("register", str(pickled), "--name", "churn", "--trust-pickle", "--json")
    assert done.exit_code == 0, done.output
    events = orjson.loads(cli("audit", "--action", "register", "--json").output)
    assert events[0]["details"]["trusted_pickle"] is True


def _words(output: str) -> str:
    """A table's text without its borders, however the terminal wrapped its cells."""
    return " ".join(output.replace("│", " ").replace("┃", " ").split())


def test_without_a_sample_register_warns_and_show_says_why(
    cli: Invoke, tmp_path: Path, logreg, cancer
) -> None:
    model_file, sample = _files(tmp_path, logreg, cancer[0])
    bare = cli("register", str(model_file), "--name", "churn", "--json")
    assert bare.exit_code == 0, bare.output
    assert orjson.loads(bare.stdout)["version"] == 1  # stdout stays one JSON document
    warning = _words(bare.stderr)
    assert warning.startswith("warning: churn@1: no reference sample: drift and the promotion")
    assert "add one with `modelyard profile set churn@1 --sample FILE`" in warning
    why = "reference no reference sample: drift and the promotion gate's data checks are off"
    assert why in _words(cli("models", "show", "churn@1").stdout)

    full = cli("register", str(model_file), "--name", "churn", "--sample", str(sample))
    assert full.exit_code == 0, full.output
    assert full.stderr == ""
    shown = _words(cli("models", "show", "churn@2").stdout)
    assert "reference profile of 569 sample rows" in shown
    assert "no reference sample" not in shown


def test_profile_set_adds_a_reference_once_and_refuses_a_misfit(
    cli: Invoke, tmp_path: Path, logreg, cancer
) -> None:
    model_file, sample = _files(tmp_path, logreg, cancer[0])
    assert cli("register", str(model_file), "--name", "churn").exit_code == 0
    misfit = tmp_path / "misfit.csv"
    cancer[0].drop(columns=["mean radius"]).to_csv(misfit, index=False)
    refused = cli("profile", "set", "churn@1", "--sample", str(misfit))
    assert_one_line_error(
        refused, 2, "does not fit churn@1's signature: feature 'mean radius': missing"
    )
    shown = orjson.loads(cli("models", "show", "churn@1", "--json").stdout)
    assert "drift and the promotion gate's data checks are off" in shown["checks_off"]

    done = cli("profile", "set", "churn@1", "--sample", str(sample), "--reason", "late sample")
    assert done.exit_code == 0, done.output
    shown = orjson.loads(cli("models", "show", "churn@1", "--json").stdout)
    assert shown["checks_off"] is None
    assert "reference.parquet" in {f["name"] for f in shown["files"]}  # the gate's data
    again = cli("profile", "set", "churn@1", "--sample", str(sample))
    assert_one_line_error(again, 4, "churn@1 already has a reference profile; pass --replace")
    assert cli("profile", "set", "churn@1", "--sample", str(sample), "--replace").exit_code == 0
    events = orjson.loads(cli("audit", "--action", "profile.set", "--json").output)
    assert [e["details"]["replaced"] for e in events] == [True, False]
    assert events[1]["details"]["reason"] == "late sample"


def test_register_custom_code_from_the_command_line(cli: Invoke, tmp_path: Path) -> None:
    from tests.flavors.custom_sources import base_model, churn_data, write_code

    code = write_code(tmp_path / "src")
    frame, labels = churn_data()
    frame.to_csv(sample := tmp_path / "sample.csv", index=False)
    frame.assign(ratio=frame.a / (frame.b + 1.0)).to_csv(based := tmp_path / "b.csv", index=False)
    base_file = tmp_path / "base.skops"
    sio.dump(base_model(frame, labels), base_file)
    assert cli("register", str(base_file), "--name", "base", "--sample", str(based)).exit_code == 0
    churn = ["churn_model:Churn", "--code", str(code["churn_model"]), "--name", "churn"]
    left_out = cli("register", *churn, "--sample", str(sample))
    assert_one_line_error(left_out, 2, "'churn_features' is not among the code files")
    parts = [*churn, "--code", str(code["churn_features"]), "--sample", str(sample)]
    missing = cli("register", *parts, "--artifact", "base=base:1")
    assert_one_line_error(missing, 2, "cannot load: no file artifact 'rules' was registered")
    done = cli(
        "register", *parts, "--artifact", "base=base:1", "--artifact", f"rules={code['rules']}"
    )
    assert done.exit_code == 0, done.output
    assert "registered churn@1 (python, 3 features)" in done.stdout
    stray = cli("register", str(base_file), "--name", "x", "--artifact", "a=b")
    assert_one_line_error(stray, 2, "--artifact is for custom models (--code)")


def test_register_with_a_holdout_stores_the_estimation_reference(
    cli: Invoke, tmp_path: Path, logreg, cancer
) -> None:
    X, y = cancer
    model_file, _ = _files(tmp_path, logreg, X)
    holdout = tmp_path / "holdout.csv"
    X.assign(diagnosis=y).to_csv(holdout, index=False)
    wrong = cli("register", str(model_file), "-n", "churn", "--holdout", str(holdout))
    assert_one_line_error(wrong, 2, "no label column 'label'")
    assert cli("models", "list", "--json").output.strip() == "[]"  # nothing half-stored
    done = cli(
        "register", str(model_file), "-n", "churn", "--holdout", str(holdout), "--label",
        "diagnosis", "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    shown = orjson.loads(cli("models", "show", "churn@1", "--json").output)
    assert len(shown["signature"]["inputs"]) == 30  # the holdout's features stood for a sample
