"""A fleet tested as one: PostgreSQL, moto's S3 server, three ``serve --no-controller``
replicas, two ``modelyard controller`` processes and HAProxy in front, under steady load
while an alias moves, a replica and the lease-holding controller are SIGKILLed mid-canary,
and the replica comes back (the scenario is tests/integration/fleet.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.fleet import INTERVALS, haproxy_reason, scenario

pytestmark = [pytest.mark.slow, pytest.mark.serial, pytest.mark.postgres]  # judges time

POLL = float(INTERVALS["MODELYARD_POLL_SECONDS"])
LEASE = float(INTERVALS["MODELYARD_CONTROLLER_INTERVAL"])
FLUSH = float(INTERVALS["MODELYARD_MONITOR_FLUSH_SECONDS"])


def test_a_fleet_behind_haproxy_survives_moves_kills_and_restarts(
    tmp_path: Path, pg_url: str
) -> None:
    reason = haproxy_reason()
    if reason:
        pytest.skip(reason)
    seen = scenario(tmp_path, pg_url, say=print)

    # The alias moved on every replica within a few refresh intervals (generous: the
    # machine is shared), with no failed request through the balancer.
    assert seen["alias_seconds"] < 20 * POLL + 3, seen
    assert seen["alias_non_2xx"] == 0, seen
    # HAProxy retries a request whose connection to r3 failed or closed with no answer. A
    # request r3's kernel accepted while the killed process was being torn down ends with a
    # reset instead, which HAProxy does not retry: it closes that keep-alive client
    # connection without an answer so the client retries (docs/scaling.md). So: at most one
    # per client connection (3 threads), each a close with no HTTP answer, all before
    # HAProxy saw r3 down, and none left after the client's one retry.
    assert seen["kill_non_2xx"] <= 3, seen
    assert all(
        status == 0 and error == "RemoteProtocolError" and at <= seen["r3_down_seconds"] + 1
        for status, error, at in seen["kill_failures"]
    ), seen
    assert seen["kill_non_2xx_after_retry"] == 0, seen
    assert seen["non_2xx_after_retry_total"] == 0, seen

    # One controller acted; its successor took the lease within one interval (+ slack for
    # starting a connection on a shared machine), and the canary finished once.
    assert len(seen["leaders_before"]) == 1, seen
    assert not seen["successor_had_lease"], seen
    assert seen["takeover_seconds"] < LEASE + 2, seen
    assert seen["rollout_state"] == "succeeded", seen
    assert seen["history"] == ["rollout.start", "rollout.step", "rollout.succeeded"], seen
    assert seen["production"] == 3
    # Sticky users met the same version on every replica, and the split was real.
    assert seen["sticky"] == {"agree": True, "versions": ["churn@2", "churn@3"]}, seen
    assert seen["sticky_weight_after"] == 50, seen  # asked while the split stood
    assert seen["killed_during"] == "running at 50%", seen

    # The restarted replica said "not ready" until its models were loaded and warm; its
    # first answer came from the promoted version, at once.
    assert seen["probes"]["refused"] + seen["probes"]["503"] > 0, seen
    body = seen["ready_body"]
    assert body["endpoints"]["serving"] == body["endpoints"]["known"] == 1, body
    assert seen["first_version_after_ready"] == "churn@3", seen
    assert seen["non_2xx_total"] == seen["kill_non_2xx"], seen

    # Nothing lost but the killed replica's unflushed rows, answered within one flush
    # interval (+ the write in flight) before the kill.
    assert all(server == "r3" and age <= FLUSH + 1 for server, age in seen["lost"]), seen
    lost = len(seen["lost"])
    assert lost <= seen["r3_last_flush_rows"], seen
    assert seen["logged_rows"] == seen["answered_rows"] - lost, seen
    assert seen["answered_rows"] - seen["r3_last_flush_rows"] <= seen["window_rows"], seen
    assert seen["window_rows"] <= seen["answered_rows"], seen
    # Every replica's /metrics answered, counting what it predicted since it started.
    assert all(value > 0 for value in seen["metrics"].values()), seen
