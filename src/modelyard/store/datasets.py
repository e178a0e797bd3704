"""Dataset versions: content-addressed data files with schema and profile."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelyard.domain.entities import DatasetVersion
from modelyard.domain.names import check_name
from modelyard.errors import NotFound
from modelyard.store import audit, blobs
from modelyard.store.db import Database, insert_ignore
from modelyard.store.schema import DatasetRow, DatasetVersionRow, FileRow, utcnow

OWNER_DATASET = "dataset_version"


class DatasetStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        name: str,
        *,
        sha256: str,
        size: int,
        rows: int,
        fmt: str,
        schema: dict[str, Any],
        profile: dict[str, Any],
        source: str,
        description: str,
        actor: str,
        reservation: str,
    ) -> DatasetVersion:
        check_name(name, "dataset name")

        def work(session: Session) -> DatasetVersion:
            insert_ignore(
                session,
                DatasetRow,
                {"name": name, "latest_version": 0, "created_at": utcnow()},
                ["name"],
            )
            dataset = session.scalar(
                select(DatasetRow).where(DatasetRow.name == name).with_for_update()
            )
            assert dataset is not None
            same = session.scalar(
                select(DatasetVersionRow).where(
                    DatasetVersionRow.dataset_id == dataset.id, DatasetVersionRow.sha256 == sha256
                )
            )
            blobs.release(session, reservation)
            if same is not None:  # the same bytes again are the same version
                return _to_entity(name, same)
            dataset.latest_version += 1
            row = DatasetVersionRow(
                dataset_id=dataset.id,
                version=dataset.latest_version,
                sha256=sha256,
                size=size,
                rows=rows,
                format=fmt,
                schema=schema,
                profile=profile,
                source=source,
                description=description,
                created_at=utcnow(),
                created_by=actor,
            )
            session.add(row)
            session.flush()
            session.add(
                FileRow(
                    owner_kind=OWNER_DATASET,
                    owner_id=str(row.id),
                    name=f"data.{fmt}",
                    sha256=sha256,
                    size=size,
                )
            )
            audit.record(
                session,
                actor,
                "dataset.add",
                f"{name}@{row.version}",
                {"sha256": sha256, "rows": rows, "source": source},
            )
            return _to_entity(name, row)

        return self.db.write(work)

    def get(self, name: str, version: int | None = None) -> DatasetVersion:
        check_name(name, "dataset name")

        def work(session: Session) -> DatasetVersion:
            dataset = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
            if dataset is None:
                raise NotFound(f"dataset {name!r} not found")
            number = version if version is not None else dataset.latest_version
            row = session.scalar(
                select(DatasetVersionRow).where(
                    DatasetVersionRow.dataset_id == dataset.id, DatasetVersionRow.version == number
                )
            )
            if row is None:
                raise NotFound(f"dataset {name}@{number} not found")
            return _to_entity(name, row)

        return self.db.read(work)

    def list(self) -> list[DatasetVersion]:
        def work(session: Session) -> list[DatasetVersion]:
            rows = session.execute(
                select(DatasetRow.name, DatasetVersionRow)
                .join(DatasetVersionRow, DatasetVersionRow.dataset_id == DatasetRow.id)
                .order_by(DatasetRow.name, DatasetVersionRow.version)
            )
            return [_to_entity(name, row) for name, row in rows]

        return self.db.read(work)


def _to_entity(name: str, row: DatasetVersionRow) -> DatasetVersion:
    return DatasetVersion(
        name,
        row.version,
        row.sha256,
        row.size,
        row.rows,
        row.format,
        dict(row.schema),
        dict(row.profile),
        row.source,
        row.description,
        row.created_at,
        row.created_by,
    )
