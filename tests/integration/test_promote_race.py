"""Two people promoting at once over HTTP, against a real `modelyard serve`: with the
version they were shown (``expect`` or ``If-Match``), exactly one wins and the other is
refused and audited."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from sklearn.base import clone
from tests.integration.serving_fixtures import Server, running_server

from modelyard import Yard

pytestmark = pytest.mark.slow


def _race(server: Server, bodies: list[dict[str, object]], headers: dict[str, str]) -> list:
    """POST every body to the promote route at the same moment, each on its own client."""
    start = threading.Barrier(len(bodies))
    responses: list[httpx.Response | None] = [None] * len(bodies)

    def promote(i: int) -> None:
        with server.client() as client:
            start.wait()
            responses[i] = client.post("/api/models/churn/promote", json=bodies[i], headers=headers)

    threads = [threading.Thread(target=promote, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(r is not None for r in responses)
    return responses


def test_concurrent_promotions_with_the_same_expectation_have_one_winner(
    tmp_path: Path, logreg, forest, cancer
) -> None:
    X, _ = cancer
    home = tmp_path / "home"
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=X)
        for _ in range(4):
            yard.register(clone(forest).fit(*cancer), "churn", sample=X)
        yard.set_alias("churn", "production", 1)
    with running_server(home, "--dev", env={"MODELYARD_CONTROLLER": "false"}) as server:
        bodies = [{"version": v, "expect": 1, "reason": f"ship v{v}"} for v in (2, 3)]
        first = _race(server, bodies, {})
        assert sorted(r.status_code for r in first) == [200, 409], [r.text for r in first]
        won = next(r for r in first if r.status_code == 200).json()["moved"]["to_version"]
        lost = next(r for r in first if r.status_code == 409).json()["error"]
        assert lost["code"] == "conflict"
        assert lost["message"] == (
            f"churn@production points at version {won}, not 1 as expected; nothing changed"
        )
        with server.client() as client:
            etag = client.get("/api/models/churn").headers["etag"]
            assert etag == f'"production={won}"'
            bodies = [{"version": v, "reason": f"ship v{v}"} for v in (4, 5)]
            second = _race(server, bodies, {"If-Match": etag})
            assert sorted(r.status_code for r in second) == [200, 412], [r.text for r in second]
            refused = client.get("/api/audit", params={"action": "alias.refused"}).json()
    events = refused["events"]
    assert [e["details"]["expected"] for e in events] == [won, 1]
    assert all(e["target"] == "churn@production" for e in events)
    assert all(e["details"]["move"] == "promote" and e["actor"] for e in events)
    assert {e["details"]["to"] for e in events[1:]} == {2, 3} - {won}
    with Yard(home) as yard:
        moves = [(e.from_version, e.to_version) for e in yard.alias_history("churn", "production")]
    assert len(moves) == 3  # the first set, and one winner per race
