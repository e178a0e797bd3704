"""Many model references resolved at once, as ``RegistryStore.resolve`` resolves one.

The serving table resolves every route of every endpoint whenever the yard changes; one
reference at a time that was six queries a route. Here it is six queries in all, and each
reference gets what ``resolve`` would have given it: its version, or the same error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelyard.domain.entities import ModelVersion, VersionStatus
from modelyard.domain.names import parse_ref
from modelyard.errors import NotFound, YardError
from modelyard.store.db import Database
from modelyard.store.schema import AliasRow, ModelRow, VersionRow
from modelyard.store.version_rows import to_versions

Resolved = dict[str, ModelVersion | YardError]


def resolve_many(db: Database, refs: Iterable[str]) -> Resolved:
    """``{ref: version or the error resolving it alone would raise}``, for each ref."""
    results: Resolved = {}
    parsed: dict[str, tuple[str, int | None, str | None]] = {}
    for ref in set(refs):
        try:
            parsed[ref] = parse_ref(ref)
        except YardError as exc:
            results[ref] = exc
    if parsed:
        results.update(db.read(lambda session: _resolve(session, parsed)))
    return results


def _resolve(session: Session, parsed: dict[str, tuple[str, int | None, str | None]]) -> Resolved:
    names = {name for name, _, _ in parsed.values()}
    models = {m.name: m for m in session.scalars(select(ModelRow).where(ModelRow.name.in_(names)))}
    ids = [m.id for m in models.values()]
    aliases = {
        (a.model_id, a.name): a.version
        for a in session.scalars(select(AliasRow).where(AliasRow.model_id.in_(ids)))
    }
    latest: dict[Any, Any] = {
        model_id: newest
        for model_id, newest in session.execute(
            select(VersionRow.model_id, func.max(VersionRow.version))
            .where(VersionRow.model_id.in_(ids), VersionRow.status == VersionStatus.READY.value)
            .group_by(VersionRow.model_id)
        )
    }
    results: Resolved = {}
    wanted: dict[str, tuple[int, int]] = {}
    for ref, (name, given, alias) in parsed.items():
        number = _number(models.get(name), name, given, alias, aliases, latest)
        if isinstance(number, YardError):
            results[ref] = number
        else:
            wanted[ref] = (models[name].id, number)
    rows = session.scalars(
        select(VersionRow).where(
            VersionRow.model_id.in_({m for m, _ in wanted.values()}),
            VersionRow.version.in_({n for _, n in wanted.values()}),
        )
    ).all()
    names_by_id = {m.id: m.name for m in models.values()}
    versions = to_versions(session, names_by_id, rows)
    found = {(row.model_id, row.version): v for row, v in zip(rows, versions, strict=True)}
    for ref, (model_id, number) in wanted.items():
        version = found.get((model_id, number))
        name = parsed[ref][0]
        results[ref] = version or NotFound(f"version {name}@{number} not found")
    return results


def _number(
    model: ModelRow | None,
    name: str,
    given: int | None,
    alias: str | None,
    aliases: dict[tuple[int, str], int],
    latest: dict[Any, Any],
) -> int | YardError:
    """The version number a reference names, or why there is none (``resolve``'s words)."""
    if model is None:
        return NotFound(f"model {name!r} not found")
    if alias is not None:
        target = aliases.get((model.id, alias))
        if target is None:
            return NotFound(f"alias {name}@{alias} does not exist")
        return target
    if given is not None:
        return given
    newest = latest.get(model.id)
    if newest is None:
        return NotFound(f"model {name!r} has no ready version")
    return int(newest)
