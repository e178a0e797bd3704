"""What the Python API does with wrong values: a typed error naming the rule, nothing stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from modelyard import InvalidInput, SchemaMismatch, StoreUnavailable, Yard


@pytest.fixture
def registered(yard: Yard, logreg, cancer) -> Yard:
    yard.register(logreg, "churn", sample=cancer[0])
    yard.register(logreg, "churn", sample=cancer[0])
    return yard


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("1", "must be a whole number"),
        (True, "must be a whole number"),
        (2**40, "between 1 and 2147483647"),
        (0, "between 1 and"),
    ],
)
def test_alias_versions_must_be_sane_integers(
    registered: Yard, version: object, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        registered.set_alias("churn", "production", version)  # type: ignore[arg-type]
    assert registered.alias_history("churn") == []


def test_expect_zero_means_not_set_yet(registered: Yard) -> None:
    registered.set_alias("churn", "production", 1, expect=0)
    from modelyard import Conflict

    with pytest.raises(Conflict, match="points at version 1, not unset"):
        registered.set_alias("churn", "production", 2, expect=0)
    with pytest.raises(InvalidInput, match="expected version must be a whole number"):
        registered.set_alias("churn", "production", 2, expect="1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": [1, 2]}, "metrics must be a mapping"),
        ({"metrics": {"auc": float("nan")}}, "metrics must be finite"),
        ({"metrics": {"auc": "0.9"}}, "must be a number"),
        ({"tags": "x"}, "tags must be a mapping"),
        ({"params": [1]}, "params must be a mapping"),
        ({"params": {"f": object()}}, "params must be JSON-serialisable"),
        ({"run": 123}, "run must be an ActiveRun or a run id"),
        ({"datasets": [5]}, "datasets are DatasetVersions"),
        ({"description": 5}, "description must be text"),
        ({"description": "x\0y"}, "NUL"),
    ],
)
def test_register_refuses_wrong_kinds_of_values(
    yard: Yard, logreg, cancer, kwargs: dict, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        yard.register(logreg, "churn", sample=cancer[0], **kwargs)
    assert yard.list_models() == []


def test_text_limits_hold_on_both_backends(registered: Yard) -> None:
    with pytest.raises(InvalidInput, match="run name is 200 characters; at most 128"):
        registered.start_run("churn", name="x" * 200)
    with pytest.raises(InvalidInput, match="reason contains a NUL"):
        registered.set_alias("churn", "production", 1, reason="a\0b")
    with pytest.raises(InvalidInput, match="limit must be between"):
        registered.audit(limit="5")  # type: ignore[arg-type]


def test_actor_and_settings_are_checked_on_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidInput, match="actor is 300 characters"):
        Yard(tmp_path / "a", actor="x" * 300)
    monkeypatch.setenv("MODELYARD_PROFILE_BINS", "abc")
    with pytest.raises(InvalidInput, match="setting MODELYARD_PROFILE_BINS"):
        Yard(tmp_path / "b")


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    fake = tmp_path / "notadb.db"
    fake.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreUnavailable, match="cannot open the database"):
        Yard(tmp_path / "h", db_url=f"sqlite:///{fake}")


def test_predictor_refuses_empty_and_complex_input(registered: Yard, cancer) -> None:
    predictor = registered.load("churn@1")
    with pytest.raises(SchemaMismatch, match="no rows given"):
        predictor.predict(cancer[0].iloc[:0])
    complex_rows = cancer[0].iloc[:2].astype(complex)
    with pytest.raises(SchemaMismatch, match="expected a number"):
        predictor.predict(complex_rows)


def test_sample_and_datasets_may_be_given_as_names(
    yard: Yard, logreg, cancer, tmp_path: Path
) -> None:
    sample = tmp_path / "sample.csv"
    cancer[0].to_csv(sample, index=False)
    dataset = yard.add_dataset(sample, "train")
    version = yard.register(logreg, "churn", sample=str(sample), datasets=dataset.ref)
    assert version.datasets == ("train@1",)
    assert len(version.signature["inputs"]) == 30


def test_uppercase_skops_suffix_is_still_skops(sqlite_yard: Yard, logreg, tmp_path: Path) -> None:
    path = tmp_path / "MODEL.SKOPS"
    sio.dump(logreg, path)
    version = sqlite_yard.register_file(path, "churn")
    assert version.flavor_meta["format"] == "skops"
    assert np.asarray(version.signature["inputs"]).size == 30
