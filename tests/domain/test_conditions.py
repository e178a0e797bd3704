from datetime import timedelta

import pytest

from modelyard.domain.conditions import parse_condition
from modelyard.errors import InvalidInput


def test_an_absolute_condition_judges_the_metric() -> None:
    check = parse_condition(" p95_ms <  50 ")
    assert (check.metric, check.op, check.value, check.text) == ("p95_ms", "<", 50.0, "p95_ms < 50")
    assert check.judge({"p95_ms": 30.0}).passed is True
    verdict = check.judge({"p95_ms": 80.0})
    assert verdict.passed is False
    assert "80" in verdict.message


@pytest.mark.parametrize(
    ("text", "baseline", "limit"),
    [
        ("accuracy>=baseline-0.02", 0.9, 0.88),
        ("p95_ms<=baseline+5", 20.0, 25.0),
        ("p99_ms<baseline*1.5", 40.0, 60.0),
        ("error_rate<=baseline", 0.01, 0.01),
    ],
)
def test_a_relative_condition_applies_to_the_baseline(
    text: str, baseline: float, limit: float
) -> None:
    check = parse_condition(text)
    assert check.relative
    assert check.threshold(baseline) == pytest.approx(limit)


def test_missing_data_gives_no_verdict_rather_than_a_pass() -> None:
    check = parse_condition("accuracy>=baseline-0.02")
    assert check.judge({"accuracy": None}, {"accuracy": 0.9}).passed is None
    assert check.judge({"accuracy": 0.95}, {"accuracy": None}).passed is None
    assert check.judge({"accuracy": 0.95}, {"accuracy": 0.9}).passed is True


def test_a_policy_condition_may_hold_for_a_period() -> None:
    check = parse_condition("drift_share>0.3 for 15m", allow_baseline=False, allow_hold=True)
    assert check.hold == timedelta(minutes=15)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "must be text"),
        ("latency<5", "unknown metric 'latency'"),
        ("p95_ms=5", "expected METRIC OP"),
        ("p95_ms<fast", "expected METRIC OP"),
        ("p95_ms<1e999", "must be finite"),
        ("p95_ms<5 for 10m", "only for policies"),
        ("p95_ms<" + "9" * 300, "longer than"),
    ],
)
def test_bad_conditions_say_what_is_wrong(text: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        parse_condition(text)


def test_baseline_is_refused_where_there_is_none() -> None:
    with pytest.raises(InvalidInput, match="only meaningful in rollout checks"):
        parse_condition("accuracy<baseline-1", allow_baseline=False, allow_hold=True)
