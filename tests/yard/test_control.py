"""Webhook URLs are judged when a policy is added or a rollout starts, under the yard's
settings (the operator's allow-list), and nothing is stored when one is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard import Yard
from modelyard.config import Settings
from modelyard.errors import InvalidInput
from tests.control.conftest import add_churn_api


@pytest.fixture
def churn_api(tmp_path: Path, logreg, forest, cancer) -> Iterator[Yard]:
    with Yard(settings=Settings(home=tmp_path / "home", actor="tester")) as yard:
        yield add_churn_api(yard, logreg, forest, cancer)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/", "private"),
        ("http://metadata.google.internal/", r"under \.internal"),
        ("http://127.0.0.1:8080/", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://user:pw@example.com/", "user:password@"),
    ],
)
def test_a_policy_alerting_inside_is_refused(churn_api: Yard, url: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=f"alert '{url}': .*{match}"):
        churn_api.add_policy("churn-api", "error_rate>0.1", ["rollback", f"alert:{url}"])
    with pytest.raises(InvalidInput, match=match):
        churn_api.start_rollout("churn-api", "churn@2", alert=url)
    assert churn_api.list_policies() == []
    assert churn_api.active_rollout("churn-api") is None


def test_the_allow_list_lets_an_operator_name_an_inside_receiver(churn_api: Yard) -> None:
    allowing = Settings(home=churn_api.settings.home, webhook_allow="127.0.0.1,10.0.0.0/8")
    with Yard(settings=allowing) as yard:
        yard.add_policy("churn-api", "error_rate>0.1", ["alert:http://127.0.0.1:8080/hook"])
        rollout = yard.start_rollout("churn-api", "churn@2", alert="http://10.1.2.3/hook")
    assert rollout.plan.alert == "http://10.1.2.3/hook"
    assert [p.actions[0].target for p in churn_api.list_policies()] == [
        "http://127.0.0.1:8080/hook"
    ]
