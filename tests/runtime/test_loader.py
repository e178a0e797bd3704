"""Loading verifies every byte against the registry before a flavor sees it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from modelyard import IntegrityError, Yard


@pytest.fixture
def two_versions(yard: Yard, logreg, forest, cancer) -> Yard:
    X, _ = cancer
    yard.register(logreg, "churn", sample=X.iloc[:50])
    yard.register(forest, "churn", sample=X.iloc[:50])
    return yard


def _blob(yard: Yard, sha256: str) -> Path:
    return Path(yard.stores.artifacts.root) / "blobs" / sha256[:2] / sha256


def test_a_corrupted_model_file_is_refused(two_versions: Yard) -> None:
    model = two_versions.get_version("churn@1").file("model.skops")
    path = _blob(two_versions, model.sha256)
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    found = hashlib.sha256(damaged).hexdigest()
    with pytest.raises(
        IntegrityError,
        match=f"churn@1 file 'model.skops' is corrupted: expected sha256 {model.sha256}, "
        f"found {found}",
    ):
        two_versions.load("churn@1")


def test_other_versions_still_load(two_versions: Yard, forest, cancer) -> None:
    model = two_versions.get_version("churn@1").file("model.skops")
    _blob(two_versions, model.sha256).write_bytes(b"rot")
    X = cancer[0].iloc[:10]
    predictor = two_versions.load("churn@2")
    assert predictor.ref == "churn@2"
    assert predictor.predict(X).tolist() == forest.predict(X).tolist()


def test_a_missing_model_file_is_refused(two_versions: Yard) -> None:
    model = two_versions.get_version("churn@1").file("model.skops")
    _blob(two_versions, model.sha256).unlink()
    with pytest.raises(
        IntegrityError, match=f"churn@1 file 'model.skops': blob sha256:{model.sha256} is missing"
    ):
        two_versions.load("churn@1")


def test_the_reference_sample_is_not_needed_to_load(two_versions: Yard, logreg, cancer) -> None:
    reference = two_versions.get_version("churn@1").file("reference.parquet")
    _blob(two_versions, reference.sha256).unlink()
    X = cancer[0].iloc[:10]
    predictor = two_versions.load("churn@1")
    assert predictor.predict(X).tolist() == logreg.predict(X).tolist()
    assert predictor.classes == (0, 1)
