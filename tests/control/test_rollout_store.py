"""Rollout rows on both backends: one active per endpoint, compare-and-set, routes with state."""

import pytest

from modelyard import Yard
from modelyard.errors import Conflict


def test_starting_routes_the_first_step_in_the_same_write(churn: Yard) -> None:
    rollout = churn.start_rollout("churn-api", "churn@2", steps="25,100", interval="5m")
    assert (rollout.state, rollout.step, rollout.plan.baseline) == ("running", 0, "churn@1")
    routes = churn.get_endpoint("churn-api").routes
    assert [(r.model, r.weight) for r in routes] == [("churn@production", 75.0), ("churn@2", 25.0)]
    actions = [e.action for e in churn.audit("endpoint:churn-api")]
    assert "rollout.start" in actions
    assert "endpoint.update" in actions
    with pytest.raises(Conflict, match="owns the routes"):
        churn.start_rollout("churn-api", "churn@2")


def test_a_stale_writer_loses_to_a_pause(churn: Yard) -> None:
    stale = churn.start_rollout("churn-api", "churn@2", steps="25,100", interval="5m")
    churn.pause_rollout("churn-api", reason="looking at it")
    with pytest.raises(Conflict, match="changed meanwhile"):
        churn.stores.rollouts.transition(stale, "controller", action="rollout.step", step=1)
    churn.stores.rollouts.note(stale, "a stale note")  # ignored, not an error
    assert churn.rollout_status("churn-api").state == "paused"
    assert churn.rollout_status("churn-api").message.startswith("paused")
    with pytest.raises(Conflict, match="is paused, not running"):
        churn.pause_rollout("churn-api")
    assert churn.resume_rollout("churn-api").state == "running"


def test_aborting_restores_the_routes_from_before(churn: Yard) -> None:
    churn.start_rollout("churn-api", "churn@2", steps="25,100", interval="5m")
    aborted = churn.abort_rollout("churn-api", reason="changed my mind")
    assert aborted.state == "aborted"
    assert "changed my mind" in aborted.message
    assert [(r.model, r.weight) for r in churn.get_endpoint("churn-api").routes] == [
        ("churn@production", 100.0)
    ]
    assert churn.active_rollout("churn-api") is None
    assert churn.rollout_status("churn-api").id == aborted.id  # the latest, for status


def test_policies_keep_their_state_and_history(churn: Yard) -> None:
    policy = churn.add_policy("churn-api", "error_rate>0.05 for 1m", ["rollback"])
    churn.stores.policies.save_state(policy.moved(armed=False))
    assert churn.list_policies("churn-api")[0].armed is False
    churn.remove_policy(policy.id, reason="noisy")
    assert churn.list_policies() == []
    assert [e.action for e in churn.policy_history("churn-api")] == ["policy.remove", "policy.add"]
