from datetime import UTC, datetime, timedelta

import pytest

from modelyard.domain.policies import Policy, evaluate, parse_action, parse_policy
from modelyard.errors import InvalidInput

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_actions_parse_by_kind() -> None:
    assert parse_action("rollback").text == "rollback"
    assert parse_action("alert:https://hooks.example/x").target == "https://hooks.example/x"
    assert parse_action("shift:churn@4=0").shift() == ("churn@4", 0.0)
    assert parse_action("run:python train.py --fast 'a b'").argv() == [
        "python",
        "train.py",
        "--fast",
        "a b",
    ]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("explode", "unknown kind"),
        ("rollback:now", "takes no argument"),
        ("alert:ftp://x", r"http\(s\) URL"),
        ("alert:https://", r"http\(s\) URL"),
        ("alert:http://user:pw@example.com/", "user:password@ in a webhook URL is refused"),
        ("shift:churn@4", "shift:REF=WEIGHT"),
        ("shift:churn@4=100", "from 0 to below 100"),
        ("shift:Bad Name@1=5", "model name"),
        ("run:", "needs a command"),
        ("run:python 'unclosed", "cannot split"),
    ],
)
def test_bad_actions(text: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        parse_action(text)


def test_a_stored_alert_loads_even_if_todays_url_rules_refuse_it() -> None:
    """One row written before the rules must not stop every policy from loading; its
    delivery is refused instead."""
    spec = {
        "when": "drift_share>0.3",
        "then": ["alert:http://user:pw@example.com/"],
        "window_seconds": 60,
        "cooldown_seconds": 60,
    }
    policy = Policy.from_spec("churn-api", spec)
    assert policy.actions[0].target == "http://user:pw@example.com/"


def _policy(hold: str = "for 10m", cooldown: str = "30m"):
    return parse_policy("churn-api", f"drift_share>0.3 {hold}", ["rollback"], cooldown=cooldown)


def test_a_breach_fires_only_after_it_held_for_its_period() -> None:
    policy = _policy()
    step = evaluate(policy, True, "", T0)
    assert not step.fire
    assert step.policy.breach_since == T0
    step = evaluate(step.policy, True, "", T0 + timedelta(minutes=9))
    assert not step.fire
    step = evaluate(step.policy, True, "", T0 + timedelta(minutes=10))
    assert step.fire
    assert not step.policy.armed


def test_a_policy_fires_once_per_breach_and_rearms_when_clear_and_cooled() -> None:
    policy = _policy(hold="", cooldown="30m")
    fired = evaluate(policy, True, "", T0).policy
    assert not evaluate(fired, True, "", T0 + timedelta(hours=2)).fire  # still the same breach
    cleared = evaluate(fired, False, "", T0 + timedelta(minutes=5)).policy
    assert cleared.armed
    assert cleared.breach_since is None
    assert not evaluate(cleared, True, "", T0 + timedelta(minutes=10)).fire  # cooling down
    assert evaluate(cleared, True, "", T0 + timedelta(minutes=31)).fire


def test_no_data_neither_starts_nor_ends_a_breach() -> None:
    policy = evaluate(_policy(), True, "", T0).policy
    assert evaluate(policy, None, "", T0 + timedelta(minutes=1)).policy == policy


def test_bad_policies() -> None:
    with pytest.raises(InvalidInput, match="1 to 10 actions"):
        parse_policy("churn-api", "error_rate>0.1", [])
    with pytest.raises(InvalidInput, match="window"):
        parse_policy("churn-api", "error_rate>0.1", ["rollback"], window="40d")
