"""``modelyard.load`` / ``modelyard.register``: one call each on the environment's yard."""

from pathlib import Path

import pytest

import modelyard


def test_register_then_load_on_the_environments_yard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logreg, cancer
) -> None:
    X, _ = cancer
    monkeypatch.setenv("MODELYARD_HOME", str(tmp_path / "yard"))
    version = modelyard.register(logreg, "churn", sample=X)
    model = modelyard.load("churn@1")
    assert (version.ref, model.ref) == ("churn@1", "churn@1")
    assert list(model.predict(X.head(3))) == list(logreg.predict(X.head(3)))
    with pytest.raises(modelyard.NotFound):
        modelyard.load("churn@7")
