"""Conditions over data-quality and per-class metrics: what parses, what is refused with a
one-line message, and how they judge."""

from __future__ import annotations

import pytest

from modelyard.domain.conditions import parse_condition
from modelyard.domain.quality_signals import DataQuality, FeatureQuality
from modelyard.errors import InvalidInput

QUALITY = DataQuality(
    (
        FeatureQuality("age", "numeric", 200, 30, out_of_range=10),
        FeatureQuality("plan", "categorical", 200, 0, unseen=50),
    ),
    attempts=250,
    refused={"unseen_category": 25, "wrong_type": 5},
)


@pytest.mark.parametrize(
    ("text", "passed"),
    [
        ("missing_share[age]>0.1", True),  # 0.15
        ("missing_share>0.2", False),  # the worst feature: 0.15
        ("out_of_range_share>0.05", True),  # age: 10 of the 170 given
        ("unseen_share[plan]>=0.25", True),
        ("refused_share[unseen_category]>0.09", True),  # 0.1
        ("refused_share>0.15", False),  # 0.12
        ("refused_share[null_not_allowed]>0", False),
    ],
)
def test_data_quality_conditions_judge_the_shares(text: str, passed: bool) -> None:
    check = parse_condition(text, allow_baseline=False, allow_hold=True)
    assert check.judge(QUALITY.metrics()).passed is passed


def test_a_feature_without_the_signal_gives_no_verdict() -> None:
    check = parse_condition("unseen_share[age]>0.1")
    assert check.judge(QUALITY.metrics()).passed is None
    assert check.judge(QUALITY.metrics()).message == "unseen_share[age]: no data yet"


def test_per_class_conditions_name_their_class() -> None:
    check = parse_condition("recall[class=churn]<0.6 for 30m", allow_hold=True)
    assert check.metric == "recall[class=churn]"
    assert check.judge({"recall[class=churn]": 0.5}).passed is True


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("recall[churn]<0.6", r"per-class metrics name their class, e\.g\. recall\[class=churn\]"),
        ("recall[class=]<0.6", "per-class metrics name their class"),
        ("p95_ms[age]<5", "only these metrics take brackets: missing_share"),
        ("missing_share[]>0.1", "must be 1 to 100 characters"),
        ("refused_share[typo]>0.1", "unknown refusal rule 'typo'"),
        ("missing_share[a b]>0.1", "no spaces"),
        ("misssing_share[age]>0.1", "only these metrics take brackets"),
    ],
)
def test_bad_keyed_conditions_say_what_is_wrong(text: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match) as caught:
        parse_condition(text)
    assert "\n" not in str(caught.value)
