"""The key cache over a real key store: no database round trip per request, revocation
seen within the check interval, and keys that keep working while the database is away."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from tests.integration.tcp_proxy import TcpProxy, tcp_proxy

from modelyard import Yard
from modelyard.errors import StoreUnavailable
from modelyard.runtime.threads import DeadlineCalls
from modelyard.serving.key_cache import KeyCache
from modelyard.store.db import Database
from modelyard.store.keys import KeyStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingKeys(KeyStore):
    """The real key store, counting the look-ups that reach the database."""

    lookups = 0

    def authenticate(self, secret: str):  # type: ignore[no-untyped-def]
        self.lookups += 1
        return super().authenticate(secret)


def _cache(keys: KeyStore, clock: Clock) -> KeyCache:
    # Long enough for a first connection through the proxy on a busy machine; a hung
    # store costs the test this much per lookup that waits on it.
    calls = DeadlineCalls("keys", timeout=3)
    return KeyCache(keys, calls, check_seconds=5, stale_seconds=60, clock=clock)


def test_a_checked_key_is_served_from_memory_until_it_is_due(sqlite_yard: Yard) -> None:
    _, secret = sqlite_yard.create_key(["predict"])
    keys = CountingKeys(sqlite_yard.stores.db)
    clock = Clock()
    cache = _cache(keys, clock)

    async def main() -> None:
        for _ in range(100):
            assert (await cache.get(secret)) is not None
        assert keys.lookups == 1

    asyncio.run(main())


def test_a_revoked_key_is_seen_by_the_background_check(sqlite_yard: Yard) -> None:
    key, secret = sqlite_yard.create_key(["predict"])
    clock = Clock()
    cache = _cache(KeyStore(sqlite_yard.stores.db), clock)

    async def main() -> None:
        assert (await cache.get(secret)).revoked_at is None  # type: ignore[union-attr]
        sqlite_yard.revoke_key(key.id)
        clock.now += 6  # due: this answer is the cached one, a check starts behind it
        assert (await cache.get(secret)).revoked_at is None  # type: ignore[union-attr]
        for _ in range(1000):  # the background check lands within moments
            if (await cache.get(secret)).revoked_at is not None:  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.01)
        assert (await cache.get(secret)).revoked_at is not None  # type: ignore[union-attr]

    asyncio.run(main())


def test_made_up_secrets_are_remembered_apart_and_cost_one_lookup(sqlite_yard: Yard) -> None:
    keys = CountingKeys(sqlite_yard.stores.db)
    cache = _cache(keys, Clock())

    async def main() -> None:
        for _ in range(50):
            assert await cache.get("myk_000000000000_made-up") is None
        assert keys.lookups == 1

    asyncio.run(main())


@pytest.fixture
def proxied_keys(pg_url: str) -> Iterator[tuple[Yard, KeyStore, TcpProxy]]:
    upstream = make_url(pg_url)
    with tcp_proxy((upstream.host or "127.0.0.1", upstream.port or 5432)) as proxy:
        through = upstream.set(host="127.0.0.1", port=proxy.port)
        database = Database(through.render_as_string(hide_password=False))
        with Yard(Path("/nonexistent-home"), db_url=pg_url, actor="admin") as yard:
            yield yard, KeyStore(database), proxy
        database.dispose()


@pytest.mark.postgres
def test_keys_checked_before_an_outage_keep_working_through_it(proxied_keys) -> None:
    yard, keys, proxy = proxied_keys
    _, secret = yard.create_key(["predict"])
    clock = Clock()
    cache = _cache(keys, clock)

    async def main() -> None:
        assert await cache.get(secret) is not None
        for cut in (proxy.refuse, proxy.hang):
            cut()
            clock.now += 30  # well past due, within the staleness bound
            assert await cache.get(secret) is not None
            await asyncio.sleep(0.2)  # the background check runs (and fails) meanwhile
            assert await cache.get(secret) is not None
            with pytest.raises(StoreUnavailable, match="cannot be checked now"):
                await cache.get("myk_000000000000_never-seen-before")
        clock.now += 60  # past the staleness bound: the key must be checked again
        with pytest.raises(StoreUnavailable, match="cannot be checked now"):
            await cache.get(secret)
        proxy.forward()
        for _ in range(300):  # until the pool has reconnected
            try:
                assert await cache.get(secret) is not None
                break
            except StoreUnavailable:
                await asyncio.sleep(0.1)
        assert await cache.get(secret) is not None

    asyncio.run(main())


def test_while_the_server_knows_the_store_is_down_unknown_keys_cost_no_lookup(
    sqlite_yard: Yard,
) -> None:
    _, secret = sqlite_yard.create_key(["predict"])
    keys = CountingKeys(sqlite_yard.stores.db)
    down = False
    cache = KeyCache(keys, DeadlineCalls("keys", timeout=1), store_down=lambda: down)

    async def main() -> None:
        nonlocal down
        assert await cache.get(secret) is not None
        down = True
        with pytest.raises(StoreUnavailable, match="the store does not answer"):
            await cache.get("myk_000000000000_never-seen-before")
        assert await cache.get(secret) is not None  # checked before: still answered
        assert keys.lookups == 1

    asyncio.run(main())
