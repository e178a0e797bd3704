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


def test_a_condition_can_name_one_segment() -> None:
    condition = parse_condition("accuracy[country=FR]<0.8 for 30m", allow_hold=True)
    assert condition.segment == ("country", "FR")
    metrics = {"accuracy": 0.95, "accuracy[country=FR]": 0.7, "accuracy[country=DE]": 0.99}
    verdict = condition.judge(metrics)
    assert verdict.passed is True
    assert verdict.message == "accuracy[country=FR] = 0.7 (wants < 0.8)"
    assert condition.judge({"accuracy": 0.5}).passed is None


def test_any_segment_is_judged_by_the_worst_one() -> None:
    alarm = parse_condition("estimated_accuracy[country=*]<0.85")
    check = parse_condition("estimated_accuracy[country=*]>=0.85")
    metrics = {"estimated_accuracy[country=FR]": 0.8, "estimated_accuracy[country=DE]": 0.9}
    assert alarm.judge(metrics).passed is True  # one segment breaches: the policy fires
    assert check.judge(metrics).passed is False  # not every segment holds: the check fails
    assert "[country=FR]" in check.judge(metrics).message
    assert alarm.judge({}).passed is None


def test_any_segment_against_the_baseline_compares_like_with_like() -> None:
    check = parse_condition("accuracy[plan=*]>=baseline-0.05")
    candidate = {"accuracy[plan=pro]": 0.9, "accuracy[plan=free]": 0.7}
    assert check.judge(candidate, {"accuracy[plan=pro]": 0.92, "accuracy[plan=free]": 0.72}).passed
    failed = check.judge(candidate, {"accuracy[plan=pro]": 0.92, "accuracy[plan=free]": 0.9})
    assert failed.passed is False
    assert "accuracy[plan=free]" in failed.message


@pytest.mark.parametrize("text", ["accuracy[country]<0.8", "accuracy[=FR]<0.8", "f1[a=b=c]>1"])
def test_a_malformed_segment_is_one_line_naming_the_rule(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"a segment is written \[FEATURE=VALUE\]") as caught:
        parse_condition(text)
    assert "\n" not in str(caught.value)


def test_any_segment_waits_for_a_candidate_segment_the_baseline_lacks() -> None:
    check = parse_condition("accuracy[country=*]>=baseline-0.02")
    candidate = {"accuracy[country=FR]": 0.9, "accuracy[country=DE]": 0.1}
    verdict = check.judge(candidate, {"accuracy[country=FR]": 0.9})
    assert verdict.passed is None
    assert "accuracy[country=DE]: no baseline data yet" in verdict.message
    failing = check.judge(candidate, {"accuracy[country=FR]": 0.99})
    assert failing.passed is False  # a failing segment still fails at once


@pytest.mark.parametrize(
    "text", ["p95_ms[country=FR]<50", "error_rate[plan=*]<0.01", "output_drift[a=b]>0"]
)
def test_segments_only_take_metrics_segments_report(text: str) -> None:
    with pytest.raises(InvalidInput, match="is not measured per segment; segments report rows"):
        parse_condition(text, allow_hold=True)


def test_with_min_labeled_a_segment_or_class_is_judged_on_its_own_labels() -> None:
    check = parse_condition("accuracy[country=*]>=baseline-0.02")
    candidate = {
        "accuracy[country=FR]": 0.0,
        "labeled[country=FR]": 2.0,
        "accuracy[country=DE]": 0.95,
        "labeled[country=DE]": 300.0,
    }
    baseline = {**candidate, "accuracy[country=FR]": 1.0, "accuracy[country=DE]": 0.96}
    assert check.judge(candidate, baseline, min_labeled=100).passed is True
    assert check.judge(candidate, baseline).passed is False  # without a minimum: every one
    named = parse_condition("accuracy[country=FR]>=baseline-0.02")
    verdict = named.judge(candidate, baseline, min_labeled=100)
    assert verdict.passed is None
    assert verdict.message == "accuracy[country=FR]: 2 of 100 labelled rows (candidate)"
    rare = parse_condition("recall[class=rare]>=0.5")
    few = {"recall[class=rare]": 0.0, "support[class=rare]": 2.0}
    assert rare.judge(few, min_labeled=100).passed is None
    assert rare.judge({**few, "support[class=rare]": 100.0}, min_labeled=100).passed is False
