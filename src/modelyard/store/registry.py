"""Models, versions and aliases: every method one transaction, every mutation audited."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from modelyard.domain.entities import (
    AliasEvent,
    FileRef,
    Model,
    ModelVersion,
    VersionStatus,
)
from modelyard.domain.names import check_alias, check_name, parse_ref
from modelyard.domain.values import check_version
from modelyard.errors import AliasMoved, Conflict, InvalidInput, NotFound
from modelyard.store import audit, blobs
from modelyard.store.aliases import (
    check_move,
    current_version,
    events,
    find_model,
    find_version,
    lock_model,
    move,
    record_refusal,
    rollback_in,
    set_alias_in,
    to_event,
)
from modelyard.store.db import Database, insert_ignore
from modelyard.store.model_rows import (
    aliases_of,
    last_changes,
    models_matching,
    to_model,
    version_counts,
)
from modelyard.store.schema import (
    AliasRow,
    DatasetRow,
    DatasetVersionRow,
    FileRow,
    ModelRow,
    VersionDatasetRow,
    VersionRow,
    utcnow,
)
from modelyard.store.tracking import NewRun, insert_run
from modelyard.store.version_rows import (
    OWNER_VERSION,
    REFERENCE_FILE,
    to_version,
    to_versions,
)

log = logging.getLogger(__name__)


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
    new_run: NewRun | None = None  # a run to write with the version (imported from MLflow)


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
            model = lock_model(session, new.name)
            run_id = new.run_id if new.new_run is None else insert_run(session, new.new_run, actor)
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
                run_id=run_id,
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
            return to_version(session, model.name, row)

        return self.db.write(work)

    # -- reading --------------------------------------------------------------------------

    def get_model(self, name: str) -> Model:
        check_name(name, "model name")

        def work(session: Session) -> Model:
            row = find_model(session, name)
            counts = version_counts(session, ids=[row.id])
            changes = last_changes(session, [row.id])
            return to_model(
                row, counts.get(row.id, (None, 0)), aliases_of(session, row.id), changes.get(row.id)
            )

        return self.db.read(work)

    def list_models(
        self, limit: int | None = None, offset: int = 0, contains: str | None = None
    ) -> list[Model]:
        """By name; a page of them when ``limit`` is given (aggregated in SQL per page)."""

        def work(session: Session) -> list[Model]:
            query = models_matching(select(ModelRow), contains).order_by(ModelRow.name)
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
            counts = version_counts(session, ids=ids)
            changes = last_changes(session, ids)
            return [
                to_model(r, counts.get(r.id, (None, 0)), aliases.get(r.id, {}), changes.get(r.id))
                for r in rows
            ]

        return self.db.read(work)

    def count_models(self, contains: str | None = None) -> int:
        query = models_matching(select(func.count()).select_from(ModelRow), contains)
        return int(self.db.read(lambda session: session.scalar(query)) or 0)

    def list_versions(self, name: str, include_archived: bool = True) -> list[ModelVersion]:
        check_name(name, "model name")

        def work(session: Session) -> list[ModelVersion]:
            model = find_model(session, name)
            query = select(VersionRow).where(VersionRow.model_id == model.id)
            if not include_archived:
                query = query.where(VersionRow.status == VersionStatus.READY.value)
            rows = session.scalars(query.order_by(VersionRow.version)).all()
            return to_versions(session, name, rows)

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
            model = find_model(session, name)
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
            return to_version(session, name, find_version(session, model, number))

        return self.db.read(work)

    def set_profile(
        self,
        name: str,
        version: int,
        profile: dict[str, Any],
        reference: FileRef | None,
        actor: str,
        *,
        replace: bool,
        reason: str,
        reservation: str,
    ) -> ModelVersion:
        """Give a version its reference profile (and sample rows, the gate's data) after
        registration; refused when it has one already, unless ``replace``. Audited."""

        def work(session: Session) -> ModelVersion:
            model = lock_model(session, name)
            row = find_version(session, model, version)
            target = f"{name}@{version}"
            had = bool(row.profile)
            if had and not replace:
                raise Conflict(
                    f"{target} already has a reference profile; pass --replace (replace=True) "
                    "to swap it"
                )
            session.execute(
                delete(FileRow).where(
                    FileRow.owner_kind == OWNER_VERSION,
                    FileRow.owner_id == str(row.id),
                    FileRow.name == REFERENCE_FILE,
                )
            )
            if reference is not None:
                session.add(
                    FileRow(
                        owner_kind=OWNER_VERSION,
                        owner_id=str(row.id),
                        name=reference.name,
                        sha256=reference.sha256,
                        size=reference.size,
                    )
                )
            row.profile = profile
            details = {"rows": profile.get("rows"), "replaced": had, "reason": reason}
            audit.record(session, actor, "profile.set", target, details)
            audit.bump_revision(session)
            blobs.release(session, reservation)
            session.flush()
            return to_version(session, name, row)

        return self.db.write(work)

    def profile(self, name: str, version: int) -> dict[str, Any]:
        def work(session: Session) -> dict[str, Any]:
            return dict(find_version(session, find_model(session, name), version).profile)

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
        *,
        kind: str = "set",
    ) -> AliasEvent:
        """``kind`` names the move in a refusal's audit event (``promote`` for one)."""
        return self._refusals_audited(
            actor,
            kind,
            version,
            reason,
            lambda session: set_alias_in(session, name, alias, version, actor, reason, expect),
        )

    def rollback(
        self, name: str, alias: str, actor: str, reason: str = "", expect: int | None = None
    ) -> AliasEvent:
        """Move the alias back to the target it had before its current one (like "back")."""
        check_alias(alias)
        check_move(reason, expect)
        return self._refusals_audited(
            actor,
            "rollback",
            None,
            reason,
            lambda session: rollback_in(session, name, alias, actor, reason, expect),
        )

    def expect_alias(
        self, name: str, alias: str, expect: int, actor: str, *, kind: str, to: int, reason: str
    ) -> None:
        """Refuse (audited) unless ``alias`` points at ``expect`` now (0: unset) — before
        work that is wasted if it does not, such as a promotion's gate."""
        check_alias(alias)
        check_move(reason, expect)
        actual = self.db.read(lambda session: current_version(session, name, alias))
        if actual != (expect or None):
            self.refuse(AliasMoved(name, alias, expect, actual), actor, kind, to, reason)

    def refuse(
        self, refused: AliasMoved, actor: str, kind: str, to: int | None, reason: str
    ) -> NoReturn:
        """Record ``refused`` (its own transaction: the move's was rolled back) and raise
        it. A failing audit write is logged; the caller still learns of the conflict."""
        try:
            self.db.write(lambda session: record_refusal(session, refused, actor, kind, to, reason))
        except Exception:
            log.exception("could not audit the refused move of %s", refused.target)
        raise refused

    def _refusals_audited(
        self,
        actor: str,
        kind: str,
        to: int | None,
        reason: str,
        work: Callable[[Session], AliasEvent],
    ) -> AliasEvent:
        try:
            return self.db.write(work)
        except AliasMoved as refused:
            self.refuse(refused, actor, kind, to, reason)

    def delete_alias(self, name: str, alias: str, actor: str, reason: str = "") -> AliasEvent:
        check_alias(alias)
        check_move(reason, None)

        def work(session: Session) -> AliasEvent:
            model = lock_model(session, name)
            current = session.get(AliasRow, (model.id, alias))
            if current is None:
                raise NotFound(f"alias {name}@{alias} does not exist")
            return move(session, model, alias, current, None, "delete", actor, reason)

        return self.db.write(work)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        if alias is not None:
            check_alias(alias)

        def work(session: Session) -> list[AliasEvent]:
            model = find_model(session, name)
            return [to_event(name, r) for r in events(session, model.id, alias)]

        return self.db.read(work)

    # -- lifecycle ------------------------------------------------------------------------

    def set_status(
        self, name: str, version: int, status: VersionStatus, actor: str, reason: str = ""
    ) -> ModelVersion:
        version = check_version(version)
        check_move(reason, None)

        def work(session: Session) -> ModelVersion:
            model = lock_model(session, name)
            row = find_version(session, model, version)
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
            return to_version(session, name, row)

        return self.db.write(work)

    def delete_version(self, name: str, version: int, actor: str, reason: str = "") -> None:
        """Remove the row and its file references; gc removes the blobs later."""
        version = check_version(version)
        check_move(reason, None)

        def work(session: Session) -> None:
            model = lock_model(session, name)
            row = find_version(session, model, version)
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


def _refuse_if_aliased(session: Session, model: ModelRow, version: int, action: str) -> None:
    names = sorted(a for a, v in aliases_of(session, model.id).items() if v == version)
    if names:
        raise Conflict(
            f"cannot {action} {model.name}@{version}: alias "
            f"{', '.join(f'{model.name}@{n}' for n in names)} points to it"
        )
