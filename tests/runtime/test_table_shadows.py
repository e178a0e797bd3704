"""Shadows in the endpoint table: loaded beside the answering routes, reused across
refreshes, and never holding them back when they cannot load."""

from __future__ import annotations

import asyncio
from pathlib import Path

from modelyard import Yard
from modelyard.domain.endpoints import Route
from modelyard.runtime.active import ActiveEndpoint
from modelyard.runtime.pool import ModelPool
from modelyard.runtime.table import EndpointTable


def _twice(yard: Yard) -> tuple[ActiveEndpoint, ActiveEndpoint, dict[str, dict[str, str]]]:
    async def main() -> tuple[ActiveEndpoint, ActiveEndpoint, dict[str, dict[str, str]]]:
        table = EndpointTable(yard, ModelPool(yard.stores.artifacts))
        await table.refresh()
        first = table.get("churn-api")
        await table.refresh()
        second = table.get("churn-api")
        errors = dict(table.shadow_errors)
        await table.close()
        return first, second, errors

    return asyncio.run(main())


def test_shadows_load_and_their_batchers_are_reused(
    sqlite_yard: Yard, logreg, forest, cancer
) -> None:
    X, _ = cancer
    sqlite_yard.register(logreg, "churn", sample=X)
    sqlite_yard.register(forest, "churn", sample=X)
    sqlite_yard.create_endpoint("churn-api", "churn@1")
    sqlite_yard.set_routes("churn-api", [Route("churn@1"), Route("churn@2", 50, "shadow")])
    first, second, errors = _twice(sqlite_yard)
    assert [v.loaded.ref for v in first.every] == ["churn@1"]
    assert [(s.loaded.ref, s.mirrored) for s in first.shadows] == [("churn@2", 50)]
    assert second.shadows[0].batcher is first.shadows[0].batcher
    assert errors == {}


def test_a_shadow_that_cannot_load_is_left_out_and_the_primary_serves(
    sqlite_yard: Yard, tmp_path: Path, logreg, forest, cancer
) -> None:
    X, _ = cancer
    sqlite_yard.register(logreg, "churn", sample=X)
    broken = sqlite_yard.register(forest, "churn", sample=X)
    sqlite_yard.create_endpoint("churn-api", "churn@1")
    sqlite_yard.set_routes("churn-api", [Route("churn@1"), Route("churn@2", 100, "shadow")])
    blob = next((tmp_path / "home" / "artifacts").rglob(broken.file("model.skops").sha256))
    blob.write_bytes(b"tampered")
    active, _, errors = _twice(sqlite_yard)
    assert active.loaded.ref == "churn@1"
    assert active.shadows == ()
    assert "corrupted" in errors["churn-api"]["churn@2"]
