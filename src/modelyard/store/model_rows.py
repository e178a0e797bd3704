"""Reading models as the registry lists them: per-model version counts, last changes and
aliases, each one grouped query (run inside a caller's transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from modelyard.domain.entities import Model, VersionStatus
from modelyard.store.schema import AliasEventRow, AliasRow, ModelRow, VersionRow


def version_counts(
    session: Session, *, ids: Sequence[int] | None = None
) -> dict[int, tuple[int | None, int]]:
    """Per model: (highest ready version, number of versions), in one grouped query."""
    ready = case((VersionRow.status == VersionStatus.READY.value, VersionRow.version))
    query = select(VersionRow.model_id, func.max(ready), func.count()).group_by(VersionRow.model_id)
    if ids is not None:
        query = query.where(VersionRow.model_id.in_(ids))
    return {m: (latest, int(count)) for m, latest, count in session.execute(query)}


def last_changes(session: Session, ids: Sequence[int] | None) -> dict[int, datetime]:
    """Per model: when a version was last registered or an alias last moved."""
    queries = [
        select(VersionRow.model_id, func.max(VersionRow.created_at)).group_by(VersionRow.model_id),
        select(AliasEventRow.model_id, func.max(AliasEventRow.at)).group_by(AliasEventRow.model_id),
    ]
    latest: dict[int, datetime] = {}
    for grouped in queries:
        query = grouped if ids is None else grouped.where(grouped.selected_columns[0].in_(ids))
        for model_id, at in session.execute(query):
            if at is not None and (model_id not in latest or at > latest[model_id]):
                latest[model_id] = at
    return latest


def models_matching(query: Any, contains: str | None) -> Any:
    if contains:
        query = query.where(ModelRow.name.contains(contains, autoescape=True))
    return query


def to_model(
    row: ModelRow,
    counts: tuple[int | None, int],
    aliases: dict[str, int],
    last_change: datetime | None = None,
) -> Model:
    return Model(
        row.name, row.description, counts[0], counts[1], row.created_at, aliases, last_change
    )


def aliases_of(session: Session, model_id: int) -> dict[str, int]:
    rows = session.scalars(select(AliasRow).where(AliasRow.model_id == model_id))
    return {r.name: r.version for r in rows}
