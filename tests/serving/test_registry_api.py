"""Alias moves over HTTP with compare-and-set: ``expect`` in the body or ``If-Match`` with
the model's ETag; a stale one is refused (409 / 412) and audited, in process over a real
SQLite yard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelyard import Yard
from modelyard.config import Settings
from modelyard.serving.app import create_app


@pytest.fixture
def churn(sqlite_yard: Yard, logreg, forest, cancer) -> Yard:
    X, _ = cancer
    sqlite_yard.register(logreg, "churn", sample=X)
    sqlite_yard.register(forest, "churn", sample=X)
    sqlite_yard.register(forest, "churn", sample=X)
    sqlite_yard.set_alias("churn", "production", 1)
    return sqlite_yard


@pytest.fixture
def api(churn: Yard, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path / "home", controller=False, monitoring=False)
    with TestClient(create_app(churn.services, settings, auth=False)) as client:
        yield client


def _promote(api: TestClient, version: int, headers: dict[str, str] | None = None, **body):
    payload = {"version": version, "reason": "better", **body}
    return api.post("/api/models/churn/promote", json=payload, headers=headers or {})


def test_a_model_read_carries_its_aliases_as_an_etag(api: TestClient, churn: Yard) -> None:
    assert api.get("/api/models/churn").headers["etag"] == '"production=1"'
    churn.set_alias("churn", "staging", 3)
    assert api.get("/api/models/churn").headers["etag"] == '"production=1,staging=3"'


def test_a_stale_expect_is_a_409_naming_the_alias_and_is_audited(
    api: TestClient, churn: Yard
) -> None:
    churn.set_alias("churn", "production", 2)  # moved since the caller looked
    response = _promote(api, 3, expect=1)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert error["message"] == (
        "churn@production points at version 2, not 1 as expected; nothing changed"
    )
    assert churn.get_version("churn@production").version == 2
    refused = churn.audit(action="alias.refused")[0]
    assert (refused.target, refused.details["move"], refused.details["to"]) == (
        "churn@production",
        "promote",
        3,
    )
    assert (refused.details["expected"], refused.details["actual"]) == (1, 2)
    assert refused.details["reason"] == "better"
    assert not churn.audit(action="gate.pass")  # refused before the gate ran


def test_a_current_expect_promotes_and_zero_means_unset(api: TestClient, churn: Yard) -> None:
    assert _promote(api, 2, expect=1).status_code == 200
    assert _promote(api, 3, alias="staging", expect=0).status_code == 200
    assert _promote(api, 2, alias="staging", expect=0).status_code == 409
    assert churn.get_version("churn@staging").version == 3


def test_if_match_takes_the_etag_of_the_model(api: TestClient, churn: Yard) -> None:
    etag = api.get("/api/models/churn").headers["etag"]
    churn.set_alias("churn", "production", 2)
    stale = _promote(api, 3, {"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"
    assert "points at version 2, not 1 as expected" in stale.json()["error"]["message"]
    fresh = api.get("/api/models/churn").headers["etag"]
    assert _promote(api, 3, {"If-Match": fresh}).status_code == 200
    assert _promote(api, 1, {"If-Match": '"production=3"'}, alias="staging").status_code == 200
    url, tag = "/api/models/churn/rollback", {"If-Match": '"production=3"'}
    back = api.post(url, json={"reason": "oops"}, headers=tag)
    assert back.status_code == 200, back.text
    assert back.json()["to_version"] == 2
    assert [e.details["move"] for e in churn.audit(action="alias.refused")] == ["promote"]


@pytest.mark.parametrize(
    ("header", "body", "status", "match"),
    [
        ('W/"production=1"', {}, 412, "weak entity tag never matches"),
        ('"production=1", "production=2"', {}, 400, "one entity tag"),
        ('"production=one"', {}, 400, "If-Match"),
        ("production=1", {}, 400, "If-Match"),
        ('"production=2"', {"expect": 1}, 422, "If-Match says 2 but expect says 1"),
    ],
)
def test_malformed_preconditions_are_refused(
    api: TestClient, churn: Yard, header: str, body: dict[str, int], status: int, match: str
) -> None:
    response = _promote(api, 2, {"If-Match": header}, **body)
    assert response.status_code == status, response.text
    assert match in response.json()["error"]["message"]
    assert churn.get_version("churn@production").version == 1


def test_if_match_star_only_asks_that_the_model_exists(api: TestClient) -> None:
    assert _promote(api, 2, {"If-Match": "*"}).status_code == 200
