"""The admin API the console is built on, in process over a real SQLite yard: reads with
paging, the gate, promote and roll back with reasons and actors, rollout steering, and
every refusal a 4xx naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sklearn.base import clone
from tests.integration.models_for_serving import NanRegressor

from modelyard import Yard
from modelyard.config import Settings
from modelyard.serving.app import create_app


@pytest.fixture
def churn_yard(sqlite_yard: Yard, logreg, forest, cancer) -> Yard:
    X, y = cancer
    sqlite_yard.register(logreg, "churn", sample=X, metrics={"accuracy": 0.95})
    sqlite_yard.register(forest, "churn", sample=X, metrics={"accuracy": 0.96})
    sqlite_yard.set_alias("churn", "production", 1, reason="first")
    sqlite_yard.create_endpoint("churn-api", "churn@production")
    broken = NanRegressor().fit(X, y)
    for _ in range(2):
        sqlite_yard.register(clone(broken).fit(X, y), "broken", sample=X, trust_types=True)
    sqlite_yard.set_alias("broken", "production", 1)
    return sqlite_yard


def _client(yard: Yard, tmp_path: Path, auth: bool) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path / "home", controller=False, monitoring=False)
    with TestClient(create_app(yard.services, settings, auth=auth)) as client:
        yield client


@pytest.fixture
def api(churn_yard: Yard, tmp_path: Path) -> Iterator[TestClient]:
    """Keys off, as ``serve --dev`` on loopback."""
    yield from _client(churn_yard, tmp_path, auth=False)


@pytest.fixture
def keyed(churn_yard: Yard, tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(churn_yard, tmp_path, auth=True)


def _bearer(yard: Yard, *scopes: str, endpoint: str | None = None) -> dict[str, str]:
    _, secret = yard.create_key(list(scopes), endpoint=endpoint, description="console test")
    return {"Authorization": f"Bearer {secret}"}


def _problem_fields(response) -> set[str]:
    return {p["field"] for p in response.json()["error"].get("problems", [])}


# -- reading ---------------------------------------------------------------------------------


def test_models_are_listed_a_page_at_a_time(api: TestClient, churn_yard: Yard) -> None:
    for i in range(3):
        churn_yard.register(NanRegressor().fit([[0.0]], [0.0]), f"zz-{i}", trust_types=True)
    first = api.get("/api/models", params={"limit": 2}).json()
    assert first["total"] == 5
    assert [m["name"] for m in first["models"]] == ["broken", "churn"]
    churn = first["models"][1]
    assert churn["aliases"] == {"production": 1}
    assert churn["latest_version"] == 2
    assert churn["versions"] == 2
    assert churn["last_change"] >= churn["created_at"]
    second = api.get("/api/models", params={"limit": 2, "offset": 2}).json()
    assert [m["name"] for m in second["models"]] == ["zz-0", "zz-1"]
    found = api.get("/api/models", params={"q": "urn"}).json()
    assert (found["total"], [m["name"] for m in found["models"]]) == (1, ["churn"])
    assert api.get("/api/models", params={"q": "%"}).json()["total"] == 0  # not a wildcard


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 501}, "query.limit"),
        ({"limit": "ten"}, "query.limit"),
        ({"offset": -1}, "query.offset"),
        ({"q": "x" * 65}, "query.q"),
    ],
)
def test_bad_paging_is_a_422_naming_the_parameter(api: TestClient, params, field) -> None:
    response = api.get("/api/models", params=params)
    assert response.status_code == 422
    assert field in _problem_fields(response)


def test_a_model_shows_its_versions_newest_first_and_its_alias_history(
    api: TestClient, churn_yard: Yard
) -> None:
    churn_yard.set_alias("churn", "production", 2, reason="better")
    model = api.get("/api/models/churn").json()
    assert [v["version"] for v in model["versions"]] == [2, 1]
    assert model["versions"][0]["metrics"] == {"accuracy": 0.96}
    assert model["versions"][0]["aliases"] == ["production"]
    assert model["versions"][0]["inputs"] == 30
    assert model["versions"][0]["output"] == "classification"
    history = model["alias_history"]
    assert [(e["from_version"], e["to_version"], e["reason"]) for e in history] == [
        (1, 2, "better"),
        (None, 1, "first"),
    ]


def test_a_version_shows_its_signature_and_lineage(api: TestClient) -> None:
    body = api.get("/api/models/churn/versions/2").json()
    assert body["ref"] == "churn@2"
    assert len(body["signature"]["inputs"]) == 30
    assert body["lineage"]["version"]["ref"] == "churn@2"
    assert {"run", "datasets", "code", "environment"} <= set(body["lineage"])


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/models/nope", 404),
        ("/api/models/churn/versions/9", 404),
        ("/api/models/churn/versions/0", 422),
        ("/api/models/churn/versions/two", 422),
        ("/api/models/" + "x" * 65, 422),
        ("/api/models/bad%20name", 422),
    ],
)
def test_missing_or_malformed_models_are_4xx(api: TestClient, path: str, status: int) -> None:
    response = api.get(path)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


def test_the_audit_log_filters_and_pages_back(api: TestClient, churn_yard: Yard) -> None:
    for version in (2, 1, 2):
        churn_yard.set_alias("churn", "staging", version, reason=f"to {version}")
    moves = api.get("/api/audit", params={"target": "churn", "action": "alias.*"}).json()
    assert [e["details"].get("reason") for e in moves["events"]][:3] == ["to 2", "to 1", "to 2"]
    first = api.get("/api/audit", params={"action": "alias.set", "limit": 2}).json()
    assert len(first["events"]) == 2
    assert first["next_before"] is not None
    rest = api.get(
        "/api/audit", params={"action": "alias.set", "before": first["next_before"]}
    ).json()
    seqs = [e["seq"] for e in first["events"] + rest["events"]]
    assert seqs == sorted(seqs, reverse=True)
    assert len(set(seqs)) == len(seqs)
    assert rest["next_before"] is None
    by_actor = api.get("/api/audit", params={"actor": "nobody"}).json()
    assert by_actor["events"] == []
    assert api.get("/api/audit", params={"before": 0}).status_code == 422
    assert api.get("/api/audit", params={"limit": 10_000}).status_code == 422


# -- acting ----------------------------------------------------------------------------------


def test_the_gate_reports_without_moving_or_auditing(api: TestClient, churn_yard: Yard) -> None:
    events = len(churn_yard.audit())
    report = api.post("/api/models/churn/gate", json={"version": 2}).json()
    assert report["candidate"] == "churn@2"
    assert report["champion"] == "churn@1"
    assert report["passed"] is True
    assert {c["name"] for c in report["checks"]} >= {"metrics", "robustness", "latency"}
    assert churn_yard.get_version("churn@production").version == 1
    assert len(churn_yard.audit()) == events


def test_promote_moves_the_alias_and_records_the_key(keyed: TestClient, churn_yard: Yard) -> None:
    headers = _bearer(churn_yard, "write")
    response = keyed.post(
        "/api/models/churn/promote",
        json={"version": 2, "reason": "  better recall  "},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["promoted"] is True
    assert body["report"]["passed"] is True
    assert (body["moved"]["from_version"], body["moved"]["to_version"]) == (1, 2)
    assert churn_yard.get_version("churn@production").version == 2
    gate = churn_yard.audit(target="churn@2", action="gate.pass")[0]
    assert gate.actor.startswith("key:")
    assert gate.actor.endswith("(console test)")
    assert gate.details["reason"] == "better recall"
    assert churn_yard.alias_history("churn", "production")[-1].actor == gate.actor


def test_a_failing_gate_is_a_409_with_its_report_and_nothing_moves(
    api: TestClient, churn_yard: Yard
) -> None:
    response = api.post("/api/models/broken/promote", json={"version": 2, "reason": "try"})
    assert response.status_code == 409
    body = response.json()
    assert body["promoted"] is False
    assert body["error"]["code"] == "gate_failed"
    assert "robustness" in {p["field"] for p in body["error"]["problems"]}
    assert body["report"]["passed"] is False
    assert churn_yard.get_version("broken@production").version == 1
    forced = api.post(
        "/api/models/broken/promote", json={"version": 2, "reason": "hotfix", "force": True}
    )
    assert forced.status_code == 200
    assert forced.json()["forced"] is True
    assert churn_yard.get_version("broken@production").version == 2


def test_rollback_goes_back_and_refuses_a_stale_expectation(
    api: TestClient, churn_yard: Yard
) -> None:
    churn_yard.set_alias("churn", "production", 2)
    stale = api.post(
        "/api/models/churn/rollback", json={"reason": "oops", "expect": 1}
    )  # someone moved it since the page was drawn
    assert stale.status_code == 409
    assert churn_yard.get_version("churn@production").version == 2
    back = api.post("/api/models/churn/rollback", json={"reason": "oops", "expect": 2})
    assert back.status_code == 200, back.text
    assert (back.json()["from_version"], back.json()["to_version"]) == (2, 1)
    assert churn_yard.get_version("churn@production").version == 1
    assert churn_yard.alias_history("churn", "production")[-1].reason == "oops"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": 2}, "reason"),
        ({"version": 2, "reason": "   "}, "reason"),
        ({"version": 2, "reason": "x" * 1001}, "reason"),
        ({"reason": "why"}, "version"),
        ({"version": 0, "reason": "why"}, "version"),
        ({"version": "2; drop", "reason": "why"}, "version"),
        ({"version": 2, "reason": "why", "alias": ""}, "alias"),
        ({"version": 2, "reason": "why", "sudo": True}, "sudo"),
        ([1, 2], ""),
    ],
)
def test_malformed_actions_are_422_naming_the_field(
    api: TestClient, churn_yard: Yard, body, field: str
) -> None:
    response = api.post("/api/models/churn/promote", json=body)
    assert response.status_code == 422, response.text
    assert field in _problem_fields(response)
    assert churn_yard.get_version("churn@production").version == 1


def test_bodies_that_are_not_json_or_too_big_are_refused(api: TestClient) -> None:
    url = "/api/models/churn/rollback"
    as_json = {"Content-Type": "application/json"}
    assert api.post(url, content=b"{not json", headers=as_json).status_code == 400
    assert api.post(url, content=b"", headers=as_json).status_code == 400
    sent = api.post(url, content=b"<x/>", headers={"Content-Type": "application/xml"})
    assert sent.status_code == 415
    # what another site can make a browser send without a CORS preflight: refused
    for content_type in ("text/plain", None):
        headers = {"Content-Type": content_type} if content_type else {}
        sent = api.post(url, content=b'{"reason": "x"}', headers=headers)
        assert sent.status_code == 415
    huge = b'{"reason": "' + b"x" * 70_000 + b'"}'
    assert api.post(url, content=huge, headers=as_json).status_code == 413
    assert api.post("/api/models/nope/rollback", json={"reason": "x"}).status_code == 404


def test_a_rollout_is_paused_resumed_and_aborted_with_reasons(
    api: TestClient, churn_yard: Yard
) -> None:
    churn_yard.start_rollout("churn-api", "churn@2", steps="10,100", interval="1h")
    url = "/api/endpoints/churn-api/rollout"
    paused = api.post(f"{url}/pause", json={"reason": "looking at p99"})
    assert paused.status_code == 200
    assert paused.json()["state"] == "paused"
    assert api.post(f"{url}/pause", json={"reason": "again"}).status_code == 409
    assert api.post(f"{url}/resume", json={"reason": "fine"}).json()["state"] == "running"
    assert api.post(f"{url}/abort", json={"reason": "no"}).json()["state"] == "aborted"
    routes = churn_yard.get_endpoint("churn-api").routes
    assert [(r.model, r.weight) for r in routes] == [("churn@production", 100)]
    assert api.post(f"{url}/stop", json={"reason": "x"}).status_code == 422
    assert api.post(f"{url}/abort", json={}).status_code == 422
    reasons = [e.details.get("reason") for e in churn_yard.rollout_history("churn-api")]
    assert {"looking at p99", "fine", "no"} <= set(reasons)


# -- keys --------------------------------------------------------------------------------------


def test_reads_need_read_and_actions_need_write(keyed: TestClient, churn_yard: Yard) -> None:
    assert keyed.get("/api/models").status_code == 401
    reader = _bearer(churn_yard, "read")
    assert keyed.get("/api/models", headers=reader).status_code == 200
    session = keyed.get("/api/session", headers=reader).json()
    assert session["auth"] is True
    assert session["scopes"] == ["read"]
    denied = keyed.post(
        "/api/models/churn/rollback", json={"reason": "x"}, headers=reader
    )  # checked before the body is read
    assert denied.status_code == 403
    steer = keyed.post(
        "/api/endpoints/churn-api/rollout/abort", json={"reason": "x"}, headers=reader
    )
    assert steer.status_code == 403
    assert churn_yard.get_version("churn@production").version == 1


def test_a_key_for_one_endpoint_cannot_read_or_change_the_registry(
    keyed: TestClient, churn_yard: Yard
) -> None:
    scoped = _bearer(churn_yard, "write", endpoint="churn-api")
    assert keyed.get("/api/endpoints/churn-api/rollout", headers=scoped).status_code == 404
    for response in (
        keyed.get("/api/models", headers=scoped),
        keyed.get("/api/models/churn-api", headers=scoped),  # a model named like the endpoint
        keyed.get("/api/audit", headers=scoped),
        keyed.post("/api/models/churn/rollback", json={"reason": "x"}, headers=scoped),
    ):
        assert response.status_code == 403
        assert "limited to endpoint 'churn-api'" in response.json()["error"]["message"]


def test_dev_mode_acts_as_the_server_and_offers_every_action(api: TestClient) -> None:
    session = api.get("/api/session").json()
    assert session == {
        "auth": False,
        "key": None,
        "endpoint": None,
        "scopes": ["predict", "read", "write", "admin"],
        "actor": "tester",
    }


# -- the console's files -------------------------------------------------------------------------


def test_the_console_page_is_served_with_a_strict_policy(api: TestClient) -> None:
    page = api.get("/ui")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "{{" not in page.text
    assert api.get("/", follow_redirects=False).headers["location"] == "/ui"
    scripts = [part.split('"')[0] for part in page.text.split('src="')[1:]]
    plotly = page.text.split('data-plotly="')[1].split('"')[0]
    for url in [*scripts, plotly]:
        asset = api.get(url, headers={"Accept-Encoding": "gzip"})
        assert asset.status_code == 200
        assert "immutable" in asset.headers["cache-control"]
        assert asset.headers["content-type"] == "text/javascript; charset=utf-8"
    assert len(api.get(plotly).content) > 1_000_000  # plotly.js from the plotly package


@pytest.mark.parametrize(
    "path",
    [
        "/ui/assets/0/../../yard.db",
        "/ui/assets/0/%2e%2e%2fyard.db",
        "/ui/assets/0/index.html",
        "/ui/assets/0/app.js.map",
    ],
)
def test_console_assets_are_a_fixed_list(api: TestClient, path: str) -> None:
    assert api.get(path).status_code == 404


def test_an_old_asset_name_gets_the_current_file_uncached(api: TestClient) -> None:
    response = api.get("/ui/assets/0000/app.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
