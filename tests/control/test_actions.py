"""Actions for real: webhooks to a local receiver, commands in a subprocess, route moves."""

import sys
from typing import Any

import pytest
from tests.integration.webhook_receiver import webhook_receiver

from modelyard import Yard
from modelyard.control.actions import Actions, Context, Retry
from modelyard.control.webhooks import Webhooks
from modelyard.domain.endpoints import Route
from modelyard.domain.policies import parse_action
from modelyard.domain.webhooks import parse_rules
from modelyard.errors import InvalidInput

CONTEXT = Context("churn-api", "policy 1", "drift_share = 0.6 (wants > 0.3)", {"value": 0.6})
FAST = Retry(attempts=3, first_delay=0.01, timeout=2)
LOOPBACK = Webhooks(parse_rules("127.0.0.1"))  # the receivers listen there


class Log:
    def __init__(self) -> None:
        self.entries: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, kind: str, details: dict[str, Any]) -> None:
        self.entries.append((kind, details))


def test_a_webhook_is_retried_with_backoff_until_delivered(sqlite_yard: Yard) -> None:
    log = Log()
    with webhook_receiver(fail_first=2) as receiver:
        Actions(sqlite_yard.traffic, sqlite_yard.registry, retry=FAST, webhooks=LOOPBACK).alert(
            receiver.url, CONTEXT, log
        )
    assert log.entries == [("delivered", {"url": receiver.url, "attempts": 3})]
    assert receiver.received[0]["message"] == CONTEXT.message
    assert receiver.received[0]["details"] == {"value": 0.6}


def test_a_webhook_that_never_answers_is_recorded_as_failed(sqlite_yard: Yard) -> None:
    log = Log()
    with webhook_receiver(fail_first=100) as receiver:
        Actions(sqlite_yard.traffic, sqlite_yard.registry, retry=FAST, webhooks=LOOPBACK).alert(
            receiver.url, CONTEXT, log
        )
    kind, details = log.entries[0]
    assert kind == "delivery_failed"
    assert details["attempts"] == 3
    assert details["errors"] == ["HTTP 503"] * 3
    log = Log()
    Actions(sqlite_yard.traffic, sqlite_yard.registry, retry=FAST, webhooks=LOOPBACK).alert(
        "http://127.0.0.1:9/closed", CONTEXT, log
    )
    assert log.entries[0][0] == "delivery_failed"
    assert log.entries[0][1]["attempts"] == 3


def test_a_webhook_to_loopback_is_refused_once_and_recorded_not_raised(
    sqlite_yard: Yard,
) -> None:
    log = Log()
    with webhook_receiver() as receiver:
        actions = Actions(sqlite_yard.traffic, sqlite_yard.registry, retry=FAST)  # no allow-list
        actions.perform(parse_action(f"alert:{receiver.url}"), CONTEXT, log)
        actions.close(wait=None)
    kind, details = log.entries[0]
    assert kind == "delivery_failed"
    assert details["attempts"] == 1  # a rule is not retried
    assert details["error"].startswith("refused: ")
    assert "loopback" in details["error"]
    assert receiver.attempts == 0


def test_a_redirect_is_not_followed(sqlite_yard: Yard) -> None:
    log = Log()
    with webhook_receiver() as inside, webhook_receiver(redirect_to=inside.url) as outside:
        Actions(sqlite_yard.traffic, sqlite_yard.registry, retry=FAST, webhooks=LOOPBACK).alert(
            outside.url, CONTEXT, log
        )
    kind, details = log.entries[0]
    assert kind == "delivery_failed"
    assert details["errors"] == ["HTTP 302: redirects are not followed"]
    assert (outside.attempts, inside.attempts) == (1, 0)


def test_a_command_runs_with_its_output_and_exit_code_kept(sqlite_yard: Yard) -> None:
    log = Log()
    actions = Actions(sqlite_yard.traffic, sqlite_yard.registry)
    script = "import os, sys; print('retrain', os.environ['MODELYARD_ENDPOINT']); sys.exit(3)"
    actions.run(parse_action(f'run:{sys.executable} -c "{script}"'), CONTEXT, log, timeout=30)
    kind, details = log.entries[0]
    assert kind == "run"
    assert details["exit_code"] == 3
    assert details["outcome"] == "failed"
    assert "retrain churn-api" in details["output"]
    actions.run(
        parse_action(f'run:{sys.executable} -c "import time; time.sleep(5)"'), CONTEXT, log, 0.3
    )
    assert log.entries[1][1]["outcome"] == "timed out"
    assert log.entries[1][1]["exit_code"] is None
    actions.run(parse_action("run:/no/such/binary"), CONTEXT, log, 5)
    assert log.entries[2][1]["outcome"] == "failed"


def test_a_command_with_binary_output_and_one_cut_short_by_a_shutdown(sqlite_yard: Yard) -> None:
    import time

    log = Log()
    actions = Actions(sqlite_yard.traffic, sqlite_yard.registry)
    binary = "import sys; sys.stdout.buffer.write(bytes([0xFF, 0xFE]) + b'done')"
    actions.run(parse_action(f'run:{sys.executable} -c "{binary}"'), CONTEXT, log, timeout=30)
    assert log.entries[0][1]["outcome"] == "ok"
    assert log.entries[0][1]["output"].endswith("done")
    long = parse_action(f'run:{sys.executable} -c "import time; time.sleep(60)"')
    actions.perform(long, CONTEXT, log, timeout=120)
    time.sleep(0.5)
    started = time.monotonic()
    actions.close(wait=0.1)
    assert time.monotonic() - started < 10  # the command was ended, not waited for
    assert log.entries[-1][1]["outcome"].startswith("cancelled")


def test_rollback_moves_the_primary_alias_back(churn: Yard) -> None:
    yard = churn
    yard.set_alias("churn", "production", 2)
    log = Log()
    Actions(yard.traffic, yard.registry).perform(parse_action("rollback"), CONTEXT, log)
    assert log.entries[0][1]["outcome"] == "alias moved back"
    assert yard.get_version("churn@production").version == 1


def test_rollback_during_a_rollout_aborts_it(churn: Yard) -> None:
    yard = churn
    yard.start_rollout("churn-api", "churn@2", steps="10,100", interval="1m")
    log = Log()
    Actions(yard.traffic, yard.registry).perform(parse_action("rollback"), CONTEXT, log)
    assert log.entries[0][1]["outcome"] == "rollout aborted"
    assert yard.rollout_status("churn-api").state == "aborted"
    assert [r.weight for r in yard.get_endpoint("churn-api").routes] == [100.0]


def test_shift_moves_weight_between_the_primary_and_a_route(churn: Yard) -> None:
    yard = churn
    yard.set_alias("churn", "production", 2)
    yard.set_routes("churn-api", [Route("churn@production", 80), Route("churn@1", 20, "canary")])
    log = Log()
    actions = Actions(yard.traffic, yard.registry)
    actions.perform(parse_action("shift:churn@1=0"), CONTEXT, log)
    assert [(r.model, r.weight) for r in yard.get_endpoint("churn-api").routes] == [
        ("churn@production", 100.0)
    ]
    actions.perform(parse_action("shift:churn@production=5"), CONTEXT, log)
    assert log.entries[-1][0] == "action_failed"
    assert "primary" in log.entries[-1][1]["error"]


def test_a_rollback_without_an_alias_is_refused(sqlite_yard: Yard, logreg, cancer) -> None:
    X, _ = cancer
    sqlite_yard.register(logreg, "churn", sample=X)
    sqlite_yard.create_endpoint("churn-api", "churn@1")
    with pytest.raises(InvalidInput, match="not an alias"):
        Actions(sqlite_yard.traffic, sqlite_yard.registry).rollback(CONTEXT)
