"""The promotion gate with real models: who passes, who fails, and what moves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.tree import DecisionTreeClassifier
from tests.integration.models_for_serving import ExplodingRegressor, NanRegressor, SlowClassifier

from modelyard import Yard
from modelyard.errors import Conflict, InvalidInput
from modelyard.validation.gate import GateSettings


@pytest.fixture
def holdout(cancer) -> pd.DataFrame:
    X, y = cancer
    frame = X.copy()
    frame["label"] = y
    return frame


@pytest.fixture
def champion(sqlite_yard: Yard, logreg, cancer) -> Yard:
    X, _ = cancer
    sqlite_yard.register(logreg, "churn", sample=X)
    sqlite_yard.set_alias("churn", "production", 1)
    return sqlite_yard


def _checks(promotion) -> dict[str, bool]:
    return {c.name: c.passed for c in promotion.report.checks}


def test_a_worse_candidate_fails_the_metric_check_and_nothing_moves(
    champion: Yard, cancer, holdout
) -> None:
    X, y = cancer
    champion.register(DummyClassifier().fit(X, y), "churn", sample=X)
    result = champion.promote("churn", 2, "production", holdout=holdout, label="label")
    assert _checks(result) == {"data": True, "metrics": False, "robustness": True, "latency": True}
    metrics = next(c for c in result.report.checks if c.name == "metrics").values
    assert metrics["candidate"]["accuracy"] < metrics["champion"]["accuracy"] - 0.3
    assert result.moved is None
    assert champion.get_version("churn@production").version == 1
    assert champion.audit(target="churn@2", action="gate.fail")[0].details["passed"] is False


def test_an_equal_candidate_within_tolerance_is_promoted_and_audited(
    champion: Yard, logreg, cancer, holdout
) -> None:
    X, _ = cancer
    champion.register(logreg, "churn", sample=X)  # same model: same metrics
    result = champion.promote("churn", 2, "production", holdout=holdout, label="label")
    assert result.report.passed
    assert result.moved is not None
    assert (result.moved.from_version, result.moved.to_version) == (1, 2)
    assert champion.get_version("churn@production").version == 2
    (event,) = champion.audit(target="churn@2", action="gate.pass")
    assert event.details["champion"] == "churn@1"


def test_force_needs_a_reason_and_is_audited(champion: Yard, cancer, holdout) -> None:
    X, y = cancer
    champion.register(DummyClassifier().fit(X, y), "churn", sample=X)
    with pytest.raises(InvalidInput, match="needs a reason"):
        champion.promote("churn", 2, holdout=holdout, label="label", force=True)
    result = champion.promote(
        "churn", 2, holdout=holdout, label="label", force=True, reason="hotfix, ticket 12"
    )
    assert result.forced
    assert champion.get_version("churn@production").version == 2
    (event,) = champion.audit(target="churn@2", action="gate.forced")
    assert event.details["reason"] == "hotfix, ticket 12"


def test_holdout_that_breaks_the_signature_fails_the_data_check(
    champion: Yard, logreg, cancer, holdout
) -> None:
    X, _ = cancer
    champion.register(logreg, "churn", sample=X)
    broken = holdout.drop(columns=["mean radius"])
    result = champion.promote("churn", 2, holdout=broken, label="label")
    data = result.report.checks[0]
    assert (data.name, data.passed) == ("data", False)
    assert "mean radius" in data.detail
    assert result.moved is None


def test_a_holdout_without_its_label_column_is_bad_input(champion: Yard, cancer) -> None:
    X, _ = cancer
    with pytest.raises(InvalidInput, match="label column"):
        champion.promote("churn", 1, holdout=X, label="label")


def test_a_model_that_raises_on_holdout_rows_fails_without_crashing_the_gate(
    sqlite_yard: Yard,
) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.uniform(1, 2, 200), "b": rng.normal(size=200)})
    sqlite_yard.register(
        ExplodingRegressor().fit(X, np.ones(200)), "fragile", sample=X, trust_types=True
    )
    holdout = X.assign(a=-X["a"], label=1.0)  # valid numbers the model was never shown
    result = sqlite_yard.promote("fragile", 1, holdout=holdout, label="label")
    failed = {c.name: c.detail for c in result.report.checks if not c.passed}
    assert "boom" in failed["metrics"]
    assert "boom" in failed["robustness"]
    assert result.moved is None


def test_non_finite_answers_fail_robustness(sqlite_yard: Yard) -> None:
    X = pd.DataFrame({"a": np.arange(50.0)})
    sqlite_yard.register(NanRegressor().fit(X, np.ones(50)), "nan", sample=X, trust_types=True)
    robustness = next(
        c for c in sqlite_yard.promote("nan", 1).report.checks if c.name == "robustness"
    )
    assert robustness.passed is False


def test_answers_that_flip_under_tiny_noise_fail_robustness(sqlite_yard: Yard) -> None:
    """A tree grown to memorise random labels: 1% noise changes many answers."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    model = DecisionTreeClassifier(random_state=0).fit(X, rng.integers(0, 2, 400))
    sqlite_yard.register(model, "jumpy", sample=X)
    result = sqlite_yard.promote("jumpy", 1, settings=GateSettings(noise=0.2))
    robustness = next(c for c in result.report.checks if c.name == "robustness")
    assert robustness.passed is False
    assert robustness.values["agreement"] < 0.95


def test_a_slow_model_fails_the_latency_budget(sqlite_yard: Yard, cancer) -> None:
    X, y = cancer
    slow = SlowClassifier(delay=0.02).fit(X, y)
    sqlite_yard.register(slow, "slow", sample=X.head(30), trust_types=True)
    settings = GateSettings(latency_p95_ms=5, latency_samples=20)
    latency = next(
        c
        for c in sqlite_yard.promote("slow", 1, settings=settings).report.checks
        if c.name == "latency"
    )
    assert latency.passed is False
    assert latency.values["p95_ms"] >= 20


def test_the_alias_moves_only_if_nobody_moved_it_meanwhile(
    champion: Yard, logreg, cancer, holdout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The move is compare-and-set against the champion the gate compared with: another
    operator moving the alias while the gate runs wins, the promotion fails loudly."""
    X, _ = cancer
    champion.register(logreg, "churn", sample=X)
    champion.register(logreg, "churn", sample=X)
    from modelyard.services import promotion

    real_gate = promotion.run_gate

    def gate_while_someone_moves_the_alias(*args, **kwargs):  # type: ignore[no-untyped-def]
        report = real_gate(*args, **kwargs)
        champion.set_alias("churn", "production", 3, reason="another operator")
        return report

    monkeypatch.setattr(promotion, "run_gate", gate_while_someone_moves_the_alias)
    with pytest.raises(Conflict):
        champion.promote("churn", 2, holdout=holdout, label="label")
    assert champion.get_version("churn@production").version == 3


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tolerance": 2}, "tolerance"),
        ({"noise": -0.1}, "noise"),
        ({"latency_p95_ms": 0}, "latency budget"),
    ],
)
def test_bad_gate_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        GateSettings(**settings)
