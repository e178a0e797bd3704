"""Models, versions and aliases: every method one transaction, every mutation audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from modelyard.domain.entities import (
    AliasEvent,
    FileRef,
    Model,
    ModelVersion,
    VersionStatus,
)
from modelyard.domain.names import check_alias, check_name, parse_ref
from modelyard.domain.values import check_text, check_version
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.store import audit, blobs
from modelyard.store.db import Database, insert_ignore
from modelyard.store.schema import (
    AliasEventRow,
    AliasRow,
    DatasetRow,
    DatasetVersionRow,
    FileRow,
    ModelRow,
    VersionDatasetRow,
    VersionRow,
    utcnow,
)

OWNER_VERSION = "model_version"


@dataclass(frozen=True)
class NewVersion:
    """Everything a registration has computed before it touches the database."""

    name: str
    flavor: str
    signature: dict[str, Any]
    profile: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    description: str
    files: tuple[FileRef, ...]
    flavor_meta: dict[str, Any]
    provenance: dict[str, Any]
    run_id: str | None
    datasets: tuple[str, ...]  # "name@version"


class RegistryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- registration ---------------------------------------------------------------------

    def create_version(
        self, new: NewVersion, actor: str, audit_details: dict[str, Any], reservation: str
    ) -> ModelVersion:
        """Insert the version and its file rows, and drop the blob reservation, atomically."""
        check_name(new.name, "model name")

        def work(session: Session) -> ModelVersion:
            insert_ignore(
                session,
                ModelRow,
                {"name": new.name, "description": "", "latest_version": 0, "created_at": utcnow()},
                ["name"],
            )
            model = _lock_model(session, new.name)
            model.latest_version += 1
            dataset_ids = [_dataset_version_id(session, ref) for ref in new.datasets]
            row = VersionRow(
                model_id=model.id,
                version=model.latest_version,
                status=VersionStatus.READY.value,
                flavor=new.flavor,
                description=new.description,
                signature=new.signature,
                profile=new.profile,
                params=new.params,
                metrics=new.metrics,
                tags=new.tags,
                flavor_meta=new.flavor_meta,
                provenance=new.provenance,
                run_id=new.run_id,
                created_at=utcnow(),
                created_by=actor,
            )
            session.add(row)
            session.flush()
            for ref in new.files:
                session.add(
                    FileRow(
                        owner_kind=OWNER_VERSION,
                        owner_id=str(row.id),
                        name=ref.name,
                        sha256=ref.sha256,
                        size=ref.size,
                    )
                )
            for dataset_id in dataset_ids:
                session.add(VersionDatasetRow(version_id=row.id, dataset_version_id=dataset_id))
            target = f"{new.name}@{row.version}"
            audit.record(
                session, actor, "register", target, {"flavor": new.flavor, **audit_details}
            )
            audit.bump_revision(session)
            blobs.release(session, reservation)
            session.flush()
            return _to_version(session, model.name, row)

        return self.db.write(work)

    # -- reading --------------------------------------------------------------------------

    def get_model(self, name: str) -> Model:
        check_name(name, "model name")

        def work(session: Session) -> Model:
            row = _model(session, name)
            counts = _version_counts(session, ids=[row.id])
            changes = _last_changes(session, [row.id])
            return _to_model(
                row, counts.get(row.id, (None, 0)), _aliases(session, row.id), changes.get(row.id)
            )

        return self.db.read(work)

    def list_models(
        self, limit: int | None = None, offset: int = 0, contains: str | None = None
    ) -> list[Model]:
        """By name; a page of them when ``limit`` is given (aggregated in SQL per page)."""

        def work(session: Session) -> list[Model]:
            query = _models_matching(select(ModelRow), contains).order_by(ModelRow.name)
            if limit is not None:
                query = query.limit(limit).offset(offset)
            rows = session.scalars(query).all()
            ids = [r.id for r in rows] if limit is not None else None
            aliases: dict[int, dict[str, int]] = {}
            alias_query = select(AliasRow)
            if ids is not None:
                alias_query = alias_query.where(AliasRow.model_id.in_(ids))
            for alias in session.scalars(alias_query):
                aliases.setdefault(alias.model_id, {})[alias.name] = alias.version
            counts = _version_counts(session, ids=ids)
            changes = _last_changes(session, ids)
            return [
                _to_model(r, counts.get(r.id, (None, 0)), aliases.get(r.id, {}), changes.get(r.id))
                for r in rows
            ]

        return self.db.read(work)

    def count_models(self, contains: str | None = None) -> int:
        query = _models_matching(select(func.count()).select_from(ModelRow), contains)
        return int(self.db.read(lambda session: session.scalar(query)) or 0)

    def list_versions(self, name: str, include_archived: bool = True) -> list[ModelVersion]:
        check_name(name, "model name")

        def work(session: Session) -> list[ModelVersion]:
            model = _model(session, name)
            query = select(VersionRow).where(VersionRow.model_id == model.id)
            if not include_archived:
                query = query.where(VersionRow.status == VersionStatus.READY.value)
            rows = session.scalars(query.order_by(VersionRow.version)).all()
            return [_to_version(session, name, r) for r in rows]

        return self.db.read(work)

    def resolve(self, ref: str, version: int | None = None) -> ModelVersion:
        """``churn``(latest) / ``churn@3`` / ``churn@production`` → the version."""
        name, ref_version, alias = parse_ref(ref)
        if version is not None:
            version = check_version(version)
            if ref_version is not None or alias is not None:
                raise InvalidInput(f"give either {ref!r} or version={version}, not both")
            ref_version = version

        def work(session: Session) -> ModelVersion:
            model = _model(session, name)
            number = ref_version
            if alias is not None:
                target = session.get(AliasRow, (model.id, alias))
                if target is None:
                    raise NotFound(f"alias {name}@{alias} does not exist")
                number = target.version
            if number is None:
                number = session.scalar(
                    select(func.max(VersionRow.version)).where(
                        VersionRow.model_id == model.id,
                        VersionRow.status == VersionStatus.READY.value,
                    )
                )
                if number is None:
                    raise NotFound(f"model {name!r} has no ready version")
            return _to_version(session, name, _version(session, model, number))

        return self.db.read(work)

    def profile(self, name: str, version: int) -> dict[str, Any]:
        def work(session: Session) -> dict[str, Any]:
            return dict(_version(session, _model(session, name), version).profile)

        return self.db.read(work)

    # -- aliases --------------------------------------------------------------------------

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        actor: str,
        reason: str = "",
        expect: int | None = None,
    ) -> AliasEvent:
        return self.db.write(
            lambda session: set_alias_in(session, name, alias, version, actor, reason, expect)
        )

    def rollback(
        self, name: str, alias: str, actor: str, reason: str = "", expect: int | None = None
    ) -> AliasEvent:
        """Move the alias back to the target it had before its current one (like "back")."""
        check_alias(alias)
        _check_move(reason, expect)

        def work(session: Session) -> AliasEvent:
            model = _lock_model(session, name)
            current = session.get(AliasRow, (model.id, alias))
            if current is None:
                raise NotFound(f"alias {name}@{alias} does not exist")
            _check_expectation(name, alias, current, expect)
            stack = _target_stack(_events(session, model.id, alias))
            ready = {
                v
                for v in session.scalars(
                    select(VersionRow.version).where(
                        VersionRow.model_id == model.id,
                        VersionRow.status == VersionStatus.READY.value,
                    )
                )
            }
            earlier = [v for v in stack[:-1] if v in ready and v != current.version]
            if not earlier:
                raise Conflict(f"{name}@{alias} has no earlier target to roll back to")
            return _move(session, model, alias, current, earlier[-1], "rollback", actor, reason)

        return self.db.write(work)

    def delete_alias(self, name: str, alias: str, actor: str, reason: str = "") -> AliasEvent:
        check_alias(alias)
        _check_move(reason, None)

        def work(session: Session) -> AliasEvent:
            model = _lock_model(session, name)
            current = session.get(AliasRow, (model.id, alias))
            if current is None:
                raise NotFound(f"alias {name}@{alias} does not exist")
            return _move(session, model, alias, current, None, "delete", actor, reason)

        return self.db.write(work)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        if alias is not None:
            check_alias(alias)

        def work(session: Session) -> list[AliasEvent]:
            model = _model(session, name)
            return [_to_event(name, r) for r in _events(session, model.id, alias)]

        return self.db.read(work)

    # -- lifecycle ------------------------------------------------------------------------

    def set_status(
        self, name: str, version: int, status: VersionStatus, actor: str, reason: str = ""
    ) -> ModelVersion:
        version = check_version(version)
        _check_move(reason, None)

        def work(session: Session) -> ModelVersion:
            model = _lock_model(session, name)
            row = _version(session, model, version)
            if status == VersionStatus.ARCHIVED:
                _refuse_if_aliased(session, model, version, "archive")
            row.status = status.value
            audit.bump_revision(session)
            audit.record(
                session,
                actor,
                "archive" if status == VersionStatus.ARCHIVED else "unarchive",
                f"{name}@{version}",
                {"reason": reason},
            )
            return _to_version(session, name, row)

        return self.db.write(work)

    def delete_version(self, name: str, version: int, actor: str, reason: str = "") -> None:
        """Remove the row and its file references; gc removes the blobs later."""
        version = check_version(version)
        _check_move(reason, None)

        def work(session: Session) -> None:
            model = _lock_model(session, name)
            row = _version(session, model, version)
            _refuse_if_aliased(session, model, version, "delete")
            session.execute(
                delete(FileRow).where(
                    FileRow.owner_kind == OWNER_VERSION, FileRow.owner_id == str(row.id)
                )
            )
            session.execute(delete(VersionDatasetRow).where(VersionDatasetRow.version_id == row.id))
            session.delete(row)
            audit.record(session, actor, "delete", f"{name}@{version}", {"reason": reason})

        self.db.write(work)


# -- helpers (all run inside a caller's transaction) ------------------------------------------


def _model(session: Session, name: str) -> ModelRow:
    row = session.scalar(select(ModelRow).where(ModelRow.name == name))
    if row is None:
        raise NotFound(f"model {name!r} not found")
    return row


def _lock_model(session: Session, name: str) -> ModelRow:
    check_name(name, "model name")
    row = session.scalar(select(ModelRow).where(ModelRow.name == name).with_for_update())
    if row is None:
        raise NotFound(f"model {name!r} not found")
    return row


def _version(session: Session, model: ModelRow, version: int) -> VersionRow:
    row = session.scalar(
        select(VersionRow).where(VersionRow.model_id == model.id, VersionRow.version == version)
    )
    if row is None:
        raise NotFound(f"version {model.name}@{version} not found")
    return row


def _version_counts(
    session: Session, *, ids: Sequence[int] | None = None
) -> dict[int, tuple[int | None, int]]:
    """Per model: (highest ready version, number of versions), in one grouped query."""
    ready = case((VersionRow.status == VersionStatus.READY.value, VersionRow.version))
    query = select(VersionRow.model_id, func.max(ready), func.count()).group_by(VersionRow.model_id)
    if ids is not None:
        query = query.where(VersionRow.model_id.in_(ids))
    return {m: (latest, int(count)) for m, latest, count in session.execute(query)}


def _last_changes(session: Session, ids: Sequence[int] | None) -> dict[int, datetime]:
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


def _models_matching(query: Any, contains: str | None) -> Any:
    if contains:
        query = query.where(ModelRow.name.contains(contains, autoescape=True))
    return query


def _to_model(
    row: ModelRow,
    counts: tuple[int | None, int],
    aliases: dict[str, int],
    last_change: datetime | None = None,
) -> Model:
    return Model(
        row.name, row.description, counts[0], counts[1], row.created_at, aliases, last_change
    )


def _aliases(session: Session, model_id: int) -> dict[str, int]:
    rows = session.scalars(select(AliasRow).where(AliasRow.model_id == model_id))
    return {r.name: r.version for r in rows}


def _dataset_version_id(session: Session, ref: str) -> int:
    name, _, number = ref.partition("@")
    row = session.scalar(
        select(DatasetVersionRow.id)
        .join(DatasetRow)
        .where(DatasetRow.name == name, DatasetVersionRow.version == int(number))
    )
    if row is None:
        raise NotFound(f"dataset {ref} not found")
    return int(row)


MAX_REASON = 2000


def _check_move(reason: str, expect: int | None) -> None:
    """``expect``: None skips the check, 0 means "the alias must not be set yet"."""
    check_text(reason, "reason", MAX_REASON)
    if isinstance(expect, bool) or (expect is not None and expect != 0):
        check_version(expect, "expected version")


def set_alias_in(
    session: Session,
    name: str,
    alias: str,
    version: int,
    actor: str,
    reason: str = "",
    expect: int | None = None,
) -> AliasEvent:
    """Move an alias inside the caller's transaction (a rollout's last step moves it in
    the same write as its state, so an abort racing it cannot leave the alias moved)."""
    check_alias(alias)
    version = check_version(version)
    _check_move(reason, expect)
    model = _lock_model(session, name)
    target = _version(session, model, version)
    if target.status != VersionStatus.READY.value:
        raise Conflict(
            f"{name}@{version} is {target.status}; unarchive it before "
            f"pointing {name}@{alias} at it"
        )
    current = session.get(AliasRow, (model.id, alias))
    _check_expectation(name, alias, current, expect)
    return _move(session, model, alias, current, version, "set", actor, reason)


def _check_expectation(name: str, alias: str, current: AliasRow | None, expect: int | None) -> None:
    if expect is None:
        return
    actual = current.version if current is not None else None
    if actual != (expect or None):
        where = f"points at version {actual}" if actual is not None else "is not set"
        wanted = "unset" if expect == 0 else str(expect)
        raise Conflict(f"{name}@{alias} {where}, not {wanted} as expected; nothing changed")


def _move(
    session: Session,
    model: ModelRow,
    alias: str,
    current: AliasRow | None,
    to: int | None,
    kind: str,
    actor: str,
    reason: str,
) -> AliasEvent:
    before = current.version if current is not None else None
    if to is None:
        if current is not None:
            session.delete(current)
    elif current is None:
        session.add(AliasRow(model_id=model.id, name=alias, version=to))
    else:
        current.version = to
    event = AliasEventRow(
        model_id=model.id,
        alias=alias,
        from_version=before,
        to_version=to,
        kind=kind,
        actor=actor,
        reason=reason,
        at=utcnow(),
    )
    session.add(event)
    audit.record(
        session,
        actor,
        f"alias.{kind}",
        f"{model.name}@{alias}",
        {"from": before, "to": to, "reason": reason},
    )
    audit.bump_revision(session)
    session.flush()
    return _to_event(model.name, event)


def _events(session: Session, model_id: int, alias: str | None) -> Sequence[AliasEventRow]:
    query = select(AliasEventRow).where(AliasEventRow.model_id == model_id)
    if alias is not None:
        query = query.where(AliasEventRow.alias == alias)
    return session.scalars(query.order_by(AliasEventRow.seq)).all()


def _target_stack(events: Sequence[AliasEventRow]) -> list[int]:
    """Replay the history: a set pushes its target, a rollback pops back to the one below."""
    stack: list[int] = []
    for event in events:
        if event.kind == "set" and event.to_version is not None:
            stack.append(event.to_version)
        elif event.kind == "rollback" and event.to_version is not None:
            while stack and stack[-1] != event.to_version:
                stack.pop()
            if not stack:
                stack.append(event.to_version)
        elif event.kind == "delete":
            stack.clear()
    return stack


def _refuse_if_aliased(session: Session, model: ModelRow, version: int, action: str) -> None:
    names = sorted(a for a, v in _aliases(session, model.id).items() if v == version)
    if names:
        raise Conflict(
            f"cannot {action} {model.name}@{version}: alias "
            f"{', '.join(f'{model.name}@{n}' for n in names)} points to it"
        )


def _to_event(model: str, row: AliasEventRow) -> AliasEvent:
    return AliasEvent(
        row.seq,
        model,
        row.alias,
        row.from_version,
        row.to_version,
        row.kind,
        row.actor,
        row.reason,
        row.at,
    )


def _to_version(session: Session, name: str, row: VersionRow) -> ModelVersion:
    files = session.scalars(
        select(FileRow)
        .where(FileRow.owner_kind == OWNER_VERSION, FileRow.owner_id == str(row.id))
        .order_by(FileRow.name)
    )
    datasets = session.execute(
        select(DatasetRow.name, DatasetVersionRow.version)
        .join(DatasetVersionRow, DatasetVersionRow.dataset_id == DatasetRow.id)
        .join(VersionDatasetRow, VersionDatasetRow.dataset_version_id == DatasetVersionRow.id)
        .where(VersionDatasetRow.version_id == row.id)
        .order_by(DatasetRow.name)
    )
    aliases = session.scalars(
        select(AliasRow.name)
        .where(AliasRow.model_id == row.model_id, AliasRow.version == row.version)
        .order_by(AliasRow.name)
    )
    return ModelVersion(
        name=name,
        version=row.version,
        flavor=row.flavor,
        status=VersionStatus(row.status),
        signature=dict(row.signature),
        params=dict(row.params),
        metrics={k: float(v) for k, v in row.metrics.items()},
        tags={k: str(v) for k, v in row.tags.items()},
        description=row.description,
        files=tuple(FileRef(f.name, f.sha256, f.size) for f in files),
        flavor_meta=dict(row.flavor_meta),
        provenance=dict(row.provenance),
        run_id=row.run_id,
        datasets=tuple(f"{n}@{v}" for n, v in datasets),
        created_at=row.created_at,
        created_by=row.created_by,
        aliases=tuple(aliases),
    )
