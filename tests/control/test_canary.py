"""The canary's decision, and one controller tick against a real yard."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from modelyard import Yard
from modelyard.control.canary import decide
from modelyard.control.ports import Ports
from modelyard.domain.rollouts import Rollout, RolloutPlan, parse_checks
from modelyard.services.compose import build_controller

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _ports(yard: Yard) -> Ports:
    """What the controller acts through: the yard's traffic, monitor and registry."""
    return Ports(yard.traffic, yard.monitor, yard.registry, yard.settings.monitor_bucket_seconds)


def _rollout(step: int = 0) -> Rollout:
    plan = RolloutPlan(
        endpoint="churn-api",
        candidate="churn@2",
        baseline="churn@1",
        baseline_route="churn@production",
        steps=(10, 100),
        interval=timedelta(minutes=5),
        checks=parse_checks(["error_rate<0.05", "accuracy>=baseline-0.02"]),
        min_rows=100,
    )
    return Rollout(id=1, plan=plan, state="running", step=step, step_started_at=T0)


GOOD = {"rows": 500.0, "error_rate": 0.0, "accuracy": 0.95, "labeled": 400.0}
BASE = {"rows": 5000.0, "error_rate": 0.0, "accuracy": 0.96, "labeled": 4000.0}


def test_a_step_waits_for_its_minimum_sample() -> None:
    decision = decide(_rollout(), {**GOOD, "rows": 40.0, "error_rate": 0.5}, BASE, T0)
    assert decision.kind == "wait"
    assert "40 of 100 rows" in decision.message


def test_failed_requests_count_towards_the_sample() -> None:
    failing = {"rows": 0.0, "attempts": 300.0, "error_rate": 1.0, "accuracy": None}
    decision = decide(_rollout(), failing, BASE, T0 + timedelta(seconds=10))
    assert decision.kind == "abort"
    assert "error_rate" in decision.message


def test_a_failing_check_aborts_at_once_without_waiting_for_the_interval() -> None:
    decision = decide(_rollout(), {**GOOD, "error_rate": 0.2}, BASE, T0 + timedelta(seconds=30))
    assert decision.kind == "abort"
    assert "error_rate" in decision.message


def test_a_relative_check_compares_with_the_baseline() -> None:
    worse = {**GOOD, "accuracy": 0.90}
    assert decide(_rollout(), worse, BASE, T0).kind == "abort"


def test_passing_checks_advance_only_after_the_interval() -> None:
    assert decide(_rollout(), GOOD, BASE, T0 + timedelta(minutes=4)).kind == "wait"
    assert decide(_rollout(), GOOD, BASE, T0 + timedelta(minutes=5)).kind == "advance"
    assert decide(_rollout(1), GOOD, BASE, T0 + timedelta(minutes=5)).kind == "finish"


def test_quality_from_a_few_labels_is_not_judged() -> None:
    unlucky = {**GOOD, "accuracy": 0.5, "labeled": 12.0}
    decision = decide(_rollout(), unlucky, BASE, T0 + timedelta(hours=1))
    assert decision.kind == "wait"
    assert "12 of 100 labelled rows (candidate)" in str(decision.checks())


def test_a_check_without_data_keeps_the_step_waiting() -> None:
    decision = decide(_rollout(), {**GOOD, "accuracy": None}, BASE, T0 + timedelta(hours=1))
    assert decision.kind == "wait"
    assert "accuracy" in decision.message


def test_a_controller_puts_back_routes_a_crash_or_a_hand_left_wrong(churn: Yard) -> None:
    yard = churn
    rollout = yard.start_rollout("churn-api", "churn@2", steps="10,100", interval="1m")
    # The routes as a crash between two writes of an older version could have left them.
    endpoint = yard.get_endpoint("churn-api")
    yard.stores.endpoints.update(replace(endpoint, routes=rollout.plan.original_routes), "someone")
    controller = build_controller(yard.services, interval=1)
    try:
        assert controller.tick()
    finally:
        controller.stop()
    routes = yard.get_endpoint("churn-api").routes
    assert [(r.model, r.weight) for r in routes] == [("churn@production", 90.0), ("churn@2", 10.0)]
    after = yard.rollout_status("churn-api")
    assert after.state == "running"
    assert "0 of 100 rows" in after.message


def test_finishing_twice_after_a_crash_finds_the_alias_already_moved(churn: Yard) -> None:
    from modelyard.control.actions import Actions
    from modelyard.control.canary import Decision, finish

    yard = churn
    rollout = yard.start_rollout("churn-api", "churn@2", steps="100", interval="1m")
    yard.set_alias("churn", "production", 2, reason="the crashed controller got this far")
    actions = Actions(yard.traffic, yard.registry)
    done = finish(_ports(yard), rollout, actions, Decision("finish", "checks passed"))
    actions.close()
    assert done.state == "succeeded"
    assert yard.get_version("churn@production").version == 2
    assert [r.model for r in yard.get_endpoint("churn-api").routes] == ["churn@production"]


def test_a_candidate_no_replica_can_load_is_aborted_after_its_interval(
    sqlite_churn: Yard,
) -> None:
    from modelyard.control.actions import Actions
    from modelyard.control.canary import tick

    yard = sqlite_churn
    rollout = yard.start_rollout("churn-api", "churn@2", steps="10,100", interval="1m")
    yard.report_serving("host:1", {"churn-api": ("churn@1", "cannot load the skops file: boom")})
    actions = Actions(yard.traffic, yard.registry)
    waiting = tick(_ports(yard), rollout, actions, rollout.step_started_at + timedelta(seconds=30))
    assert waiting.state == "running"  # within its interval it still waits
    done = tick(_ports(yard), rollout, actions, rollout.step_started_at + timedelta(minutes=2))
    actions.close()
    assert done.state == "aborted"
    assert "reports: cannot load the skops file" in done.message
    assert [r.weight for r in yard.get_endpoint("churn-api").routes] == [100.0]


def test_an_abort_racing_the_controller_keeps_its_routes_and_alias(churn: Yard) -> None:
    from modelyard.control.actions import Actions
    from modelyard.control.canary import Decision, finish
    from modelyard.errors import Conflict

    yard = churn
    stale = yard.start_rollout("churn-api", "churn@2", steps="100", interval="1m")
    yard.abort_rollout("churn-api", reason="by hand, while the controller was busy")
    actions = Actions(yard.traffic, yard.registry)
    with pytest.raises(Conflict):
        yard.stores.rollouts.reroute(stale, stale.plan.routes_at(0), "controller")
    with pytest.raises(Conflict):
        finish(_ports(yard), stale, actions, Decision("finish", "checks passed"))
    actions.close()
    assert yard.get_version("churn@production").version == 1
    assert [r.weight for r in yard.get_endpoint("churn-api").routes] == [100.0]


def test_an_alias_moved_elsewhere_during_the_rollout_aborts_it(churn: Yard, logreg, cancer) -> None:
    from modelyard.control.actions import Actions
    from modelyard.control.canary import Decision, finish

    yard = churn
    yard.register(logreg, "churn", sample=cancer[0])
    rollout = yard.start_rollout("churn-api", "churn@2", steps="100", interval="1m")
    yard.set_alias("churn", "production", 3, reason="a hotfix went out by hand")
    actions = Actions(yard.traffic, yard.registry)
    done = finish(_ports(yard), rollout, actions, Decision("finish", "checks passed"))
    actions.close()
    assert done.state == "aborted"
    assert "moved to version 3" in done.message
    assert yard.get_version("churn@production").version == 3


def test_routes_are_not_set_by_hand_while_a_rollout_owns_them(churn: Yard) -> None:
    from modelyard.domain.endpoints import Route
    from modelyard.errors import Conflict

    churn.start_rollout("churn-api", "churn@2", steps="10,100", interval="1m")
    with pytest.raises(Conflict, match="owns the routes"):
        churn.set_routes("churn-api", [Route("churn@production")])


def test_an_estimated_check_judges_a_canary_before_any_label() -> None:
    """No labels on either side: a quality check would wait; an estimated one decides."""
    plan = replace(_rollout().plan, checks=parse_checks(["estimated_accuracy>=baseline-0.02"]))
    rollout = replace(_rollout(), plan=plan)
    unlabeled = {"rows": 500.0, "labeled": 0.0, "estimated_accuracy": 0.95}
    base = {"rows": 5000.0, "labeled": 0.0, "estimated_accuracy": 0.96}
    later = T0 + timedelta(minutes=5)
    assert decide(rollout, unlabeled, base, later).kind == "advance"
    worse = decide(rollout, {**unlabeled, "estimated_accuracy": 0.90}, base, later)
    assert worse.kind == "abort"
    assert "estimated_accuracy" in worse.message


def test_a_per_class_check_waits_for_labels_like_other_quality() -> None:
    plan = replace(_rollout().plan, checks=parse_checks(["recall[class=churn]>=baseline-0.05"]))
    rollout = replace(_rollout(), plan=plan)
    later = T0 + timedelta(minutes=5)
    churn = {"recall[class=churn]": 0.6, "support[class=churn]": 150.0}
    few = {**GOOD, **churn, "labeled": 12.0, "recall[class=churn]": 0.2}
    base = {**BASE, "recall[class=churn]": 0.8, "support[class=churn]": 1500.0}
    assert decide(rollout, few, base, later).kind == "wait"
    worse = decide(rollout, {**GOOD, **churn}, base, later)
    assert worse.kind == "abort"
    assert "recall[class=churn]" in worse.message


def test_a_class_with_a_few_labels_of_its_own_is_not_judged() -> None:
    plan = replace(_rollout().plan, checks=parse_checks(["recall[class=rare]>=baseline-0.05"]))
    rollout = replace(_rollout(), plan=plan)
    rare = {**GOOD, "recall[class=rare]": 0.0, "support[class=rare]": 2.0}
    base = {**BASE, "recall[class=rare]": 1.0, "support[class=rare]": 20.0}
    decision = decide(rollout, rare, base, T0 + timedelta(minutes=5))
    assert decision.kind == "wait"
    assert (
        decision.checks()[0]["detail"] == "recall[class=rare]: 2 of 100 labelled rows (candidate)"
    )


def test_a_segment_with_a_few_labels_of_its_own_does_not_abort_the_canary() -> None:
    plan = replace(_rollout().plan, checks=parse_checks(["accuracy[country=*]>=baseline-0.02"]))
    rollout = replace(_rollout(), plan=plan)
    segments = {
        "accuracy[country=FR]": 0.0,
        "labeled[country=FR]": 2.0,
        "accuracy[country=DE]": 0.95,
        "labeled[country=DE]": 398.0,
    }
    base = {**BASE, **segments, "accuracy[country=FR]": 1.0, "accuracy[country=DE]": 0.96}
    base["labeled[country=DE]"] = 3998.0
    later = T0 + timedelta(minutes=5)
    assert decide(rollout, {**GOOD, **segments}, base, later).kind == "advance"
    worse = {**GOOD, **segments, "accuracy[country=DE]": 0.9}
    assert decide(rollout, worse, base, later).kind == "abort"
