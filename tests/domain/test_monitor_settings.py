"""Monitoring settings: the drift tests' configuration, per-endpoint specs and periods."""

from __future__ import annotations

from datetime import timedelta

import pytest

from modelyard.domain.endpoints import Endpoint, Route
from modelyard.domain.monitoring import DEFAULT_THRESHOLDS, DriftConfig, MonitorSpec, parse_period
from modelyard.errors import InvalidInput


def test_drift_config_defaults() -> None:
    config = DriftConfig()
    assert (config.numeric_test, config.categorical_test) == ("wasserstein", "jensenshannon")
    assert (config.p_value, config.large_rows, config.min_rows, config.drift_share) == (
        0.05,
        1000,
        100,
        0.5,
    )
    assert config.thresholds == DEFAULT_THRESHOLDS
    assert config.threshold("wasserstein") == 0.1


def test_thresholds_are_merged_over_the_defaults() -> None:
    config = DriftConfig(thresholds={"psi": 0.25})
    assert config.threshold("psi") == 0.25
    assert config.threshold("ks") == DEFAULT_THRESHOLDS["ks"]
    assert DriftConfig().threshold("psi") == DEFAULT_THRESHOLDS["psi"]  # defaults untouched


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"numeric_test": "chi2"}, "numeric_test 'chi2': must be one of"),
        ({"numeric_test": ["ks"]}, "numeric_test"),
        ({"categorical_test": "wasserstein"}, "categorical_test 'wasserstein'"),
        ({"thresholds": [0.1]}, "thresholds must be an object"),
        ({"thresholds": {"chi2": 0.1}}, "threshold for 'chi2': unknown test"),
        (
            {"thresholds": {"psi": -0.1}},
            "threshold for psi must be a number above 0 and at most 10",
        ),
        ({"thresholds": {"psi": 11}}, "threshold for psi must be a number above 0 and at most 10"),
        ({"thresholds": {"psi": float("nan")}}, "threshold for psi"),
        ({"thresholds": {"psi": "0.2"}}, "threshold for psi"),
        ({"thresholds": {"psi": True}}, "threshold for psi"),
        ({"p_value": 1.5}, "p_value must be a number above 0 and at most 1"),
        ({"p_value": None}, "p_value"),
        ({"drift_share": -0.01}, "drift_share"),
        ({"large_rows": 1000.0}, "large_rows must be a whole number"),
        ({"large_rows": -1}, "large_rows"),
        ({"min_rows": 10**10}, "min_rows must be a whole number from 0 to 1000000000"),
        ({"min_rows": True}, "min_rows"),
    ],
)
def test_bad_drift_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        DriftConfig(**settings)


def test_monitor_spec_round_trips() -> None:
    spec = MonitorSpec(
        log_inputs=0.25,
        drift=DriftConfig(numeric_test="psi", thresholds={"psi": 0.3}, min_rows=50),
    )
    data = spec.spec()
    assert data["log_inputs"] == 0.25
    assert data["drift"]["thresholds"]["psi"] == 0.3
    assert MonitorSpec.from_spec(data) == spec
    assert MonitorSpec.from_spec({}) == MonitorSpec()
    assert MonitorSpec().log_inputs == 0.0  # privacy first: no raw inputs unless asked


@pytest.mark.parametrize("share", [-0.1, 1.01, "0.5", None, True, float("inf")])
def test_log_inputs_is_a_share(share: object) -> None:
    with pytest.raises(InvalidInput, match="log_inputs must be a number from 0 to 1"):
        MonitorSpec.from_spec({"log_inputs": share})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([], "monitoring must be an object"),
        ("log_inputs=1", "monitoring must be an object"),
        ({"log_input": 0.5}, r"monitoring: unknown setting\(s\) log_input"),
        ({"drift": [], "log_inputs": 0}, "monitoring.drift must be an object"),
        ({"drift": {"pvalue": 0.1}}, r"monitoring.drift: unknown setting\(s\) pvalue"),
        ({"drift": {"p_value": 2}}, "p_value must be a number above 0 and at most 1"),
    ],
)
def test_monitor_spec_from_bad_specs(spec: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        MonitorSpec.from_spec(spec)  # type: ignore[arg-type]


def test_endpoint_spec_carries_monitoring() -> None:
    monitoring = MonitorSpec(log_inputs=1.0, drift=DriftConfig(drift_share=0.3))
    endpoint = Endpoint("churn", (Route("churn@production"),), monitoring=monitoring)
    again = Endpoint.from_spec("churn", endpoint.spec())
    assert again.monitoring == monitoring
    assert again == endpoint


def test_endpoint_specs_written_before_monitoring_still_load() -> None:
    old = {"routes": [{"model": "churn@1", "weight": 100.0, "role": "primary"}]}
    endpoint = Endpoint.from_spec("churn", old)
    assert endpoint.monitoring == MonitorSpec()


def test_a_bad_stored_monitoring_spec_is_refused() -> None:
    spec = {"routes": [{"model": "churn@1"}], "monitoring": {"log_inputs": 2}}
    with pytest.raises(InvalidInput, match="log_inputs"):
        Endpoint.from_spec("churn", spec)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h", 3600), ("30d", 30 * 86400), ("2w", 14 * 86400)],
)
def test_periods(text: str, seconds: int) -> None:
    assert parse_period(text) == timedelta(seconds=seconds)


def test_periods_ignore_case_and_surrounding_space() -> None:
    assert parse_period(" 30D ") == timedelta(days=30)


@pytest.mark.parametrize("text", ["", "d", "30", "30y", "1.5h", "-1d", "+1d", "1 d", "3e2s", "d30"])
def test_malformed_periods(text: str) -> None:
    with pytest.raises(InvalidInput, match="expected a whole number and a unit"):
        parse_period(text)


@pytest.mark.parametrize("text", ["0d", "10001d", "99999999999999999999999s"])
def test_periods_out_of_range(text: str) -> None:
    with pytest.raises(InvalidInput, match="must be from 1 to 10000"):
        parse_period(text)


def test_unicode_digits_in_a_period_are_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match="expected a whole number"):
        parse_period("²d")
