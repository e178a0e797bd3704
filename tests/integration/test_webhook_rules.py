"""Where a webhook may go, through the real command line and a real `modelyard serve`:
refused when configured, checked again when sent, never redirected."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.integration.serving_fixtures import ROOT, running_server
from tests.integration.webhook_receiver import webhook_receiver

from modelyard import Yard
from modelyard.domain.entities import AuditEvent

pytestmark = pytest.mark.slow

PUBLIC = "93.184.215.14"  # what the name resolved to when the policy was added (never dialled)
FAST = {"MODELYARD_CONTROLLER_INTERVAL": "0.3", "MODELYARD_POLL_SECONDS": "0.2"}


def _cli(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    command = [sys.executable, "-m", "modelyard.cli", "--home", str(home), *args]
    return subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def home(tmp_path: Path, logreg, cancer) -> Path:
    X, _ = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=X)
        yard.register(logreg, "churn", sample=X)
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production")
    return home


REFUSED = [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://10.0.0.1/", "10.0.0.1 is a private"),
    ("http://metadata.google.internal/", "metadata.google.internal is a name under .internal"),
    ("http://127.0.0.1:{port}/hook", "127.0.0.1 is a loopback address"),
    ("http://0.0.0.0/", "0.0.0.0 is the unspecified address"),
    ("http://user:pw@example.com/", "user:password@ in a webhook URL is refused"),
]


def test_policy_add_and_rollout_start_refuse_webhooks_inside(home: Path) -> None:
    with webhook_receiver() as receiver:  # listening, but not allow-listed
        for template, rule in REFUSED:
            url = template.format(port=receiver.port)
            _assert_refused(_cli(home, "policy", "add", "churn-api", "--when", "requests>=0",
                                 "--then", f"alert:{url}"), rule)  # fmt: skip
        for url, rule in (REFUSED[0], REFUSED[-1]):  # the same check; two to show it is called
            _assert_refused(_cli(home, "rollout", "start", "churn-api", "--candidate", "churn@2",
                                 "--alert", url), rule)  # fmt: skip
    assert receiver.attempts == 0
    with Yard(home) as yard:
        assert yard.list_policies() == []
        assert yard.active_rollout("churn-api") is None


def _assert_refused(done: subprocess.CompletedProcess[str], rule: str) -> None:
    """One line naming the field and the rule, exit code 2 (bad input)."""
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: alert '"), lines
    assert rule in lines[0], lines


def test_delivery_checks_the_address_again_and_never_follows_a_redirect(home: Path) -> None:
    with webhook_receiver() as inside, webhook_receiver(redirect_to=inside.url) as redirector:
        rebinds = f"http://hooks.test:{inside.port}/hook"
        redirects = f"http://redirector.test:{redirector.port}/hook"
        when_added = {
            "MODELYARD_WEBHOOK_RESOLVE": f"hooks.test={PUBLIC},redirector.test=127.0.0.1",
            "MODELYARD_WEBHOOK_ALLOW": "redirector.test",  # the operator trusts this name
        }
        for url in (rebinds, redirects):
            added = _cli(home, "policy", "add", "churn-api", "--when", "requests>=0", "--then",
                         f"alert:{url}", env=when_added)  # fmt: skip
            assert added.returncode == 0, added.stdout + added.stderr
        # Later, where the server runs, the name answers loopback (DNS changed, or rebinds).
        when_sent = {
            **FAST,
            "MODELYARD_WEBHOOK_RESOLVE": "hooks.test=127.0.0.1,redirector.test=127.0.0.1",
            "MODELYARD_WEBHOOK_ALLOW": "redirector.test",
        }
        with running_server(home, "--dev", env=when_sent) as server:
            failures = _wait_for_failures(home, 2, server.logs)
    by_url = {e.details["url"]: e for e in failures}
    refused = by_url[rebinds].details
    assert refused["attempts"] == 1
    assert refused["error"].startswith("refused: alert ")
    assert "hooks.test resolves to a loopback address" in refused["error"]
    assert by_url[redirects].details["errors"] == ["HTTP 302: redirects are not followed"]
    assert (inside.attempts, redirector.attempts) == (0, 1)
    assert redirector.hosts == [f"redirector.test:{redirector.port}"]


def _wait_for_failures(home: Path, count: int, logs: object) -> list[AuditEvent]:
    deadline = time.monotonic() + 60
    while True:
        with Yard(home) as yard:
            events = [e for e in yard.policy_history("churn-api") if e.action.endswith("failed")]
        if len(events) >= count:
            return events
        if time.monotonic() > deadline:
            raise AssertionError(f"no delivery failures recorded: {events}\n{logs()}")  # type: ignore[operator]
        time.sleep(0.2)
