"""Keys' own rate limits: stored, audited, refused when malformed; old rows still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from modelyard import Yard
from modelyard.errors import InvalidInput
from modelyard.store.db import _MIGRATIONS
from modelyard.store.keys import secret_digest


def test_a_keys_rate_limit_is_stored_and_audited(yard: Yard) -> None:
    key, secret = yard.create_key(["predict"], rate_limit=20, rate_burst=40)
    assert (key.rate_limit, key.rate_burst) == (20.0, 40)
    assert yard.stores.keys.authenticate(secret) == key
    plain, _ = yard.create_key(["read"])
    assert (plain.rate_limit, plain.rate_burst) == (None, None)
    [event] = yard.audit(target=f"key:{key.id}")
    assert (event.details["rate_limit"], event.details["rate_burst"]) == (20.0, 40)


@pytest.mark.parametrize(
    ("rate", "burst", "match"),
    [
        (-1, None, "rate limit must be a number of requests per second from 0"),
        (float("nan"), None, "rate limit must be"),
        (True, None, "rate limit must be"),
        (10, 0, "rate burst must be a whole number from 1"),
        (10, 2.5, "rate burst must be a whole number"),
        (None, 5, "a rate burst needs a rate limit above 0"),
        (0, 5, "a rate burst needs a rate limit above 0"),
    ],
)
def test_malformed_rate_limits_are_refused(yard: Yard, rate, burst, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        yard.create_key(["predict"], rate_limit=rate, rate_burst=burst)
    assert yard.list_keys() == []


def test_keys_and_endpoints_stored_before_the_limits_still_load(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    engine = sa.create_engine(f"sqlite:///{home / 'yard.db'}")
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    old_limits = {"max_batch": 64, "max_wait_ms": 2.0, "queue_rows": 64, "timeout_ms": 3e4}
    spec = {"routes": [{"model": "churn@1", "weight": 100.0, "role": "primary"}]}
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0006")
        conn.execute(
            sa.text(
                "INSERT INTO api_keys (id, secret_sha256, scopes, endpoint, description, "
                "created_at, created_by) VALUES ('old', :digest, '[\"predict\"]', NULL, '', "
                "'2026-11-30 00:00:00', 'someone')"
            ),
            {"digest": secret_digest("myk_old_secret")},
        )
        conn.execute(
            sa.text(
                "INSERT INTO endpoints (name, spec, created_at, updated_at, created_by) "
                "VALUES ('churn-api', :spec, '2026-11-30 00:00:00', '2026-11-30 00:00:00', 'x')"
            ),
            {"spec": json.dumps({**spec, "limits": old_limits})},
        )
    engine.dispose()
    with Yard(home) as yard:
        [key] = yard.list_keys()
        assert (key.id, key.rate_limit, key.rate_burst) == ("old", None, None)
        assert yard.stores.keys.authenticate("myk_old_secret") == key
        limits = yard.get_endpoint("churn-api").limits
    assert limits.max_request_rows is None
    assert limits.queue_rows == 64
