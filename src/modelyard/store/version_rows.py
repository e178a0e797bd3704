"""Version rows read into ``ModelVersion`` entities, with their files, datasets and aliases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelyard.domain.entities import FileRef, ModelVersion, VersionStatus
from modelyard.domain.monitoring import checks_off
from modelyard.store.schema import (
    AliasRow,
    DatasetRow,
    DatasetVersionRow,
    FileRow,
    VersionDatasetRow,
    VersionRow,
)

OWNER_VERSION = "model_version"  # FileRow.owner_kind of a version's files
# A version's capped sample rows (Parquet): the gate's data, never loaded with the model.
REFERENCE_FILE = "reference.parquet"
# Rows per IN (...) list: far below SQLite's 32,766 bound parameters.
_IN_CHUNK = 5000


def to_version(session: Session, name: str, row: VersionRow) -> ModelVersion:
    return to_versions(session, name, [row])[0]


def to_versions(
    session: Session, name: str | Mapping[int, str], rows: Sequence[VersionRow]
) -> list[ModelVersion]:
    """Versions with their files, datasets and aliases: three queries in all, however many
    versions (a page of versions is one read, not three per row). ``name``: the model's, or
    each model id's when the rows are of several models."""
    name_of = (lambda _: name) if isinstance(name, str) else name.__getitem__
    files: dict[str, list[FileRow]] = defaultdict(list)
    datasets: dict[int, list[str]] = defaultdict(list)
    aliases: dict[tuple[int, int], list[str]] = defaultdict(list)
    for start in range(0, len(rows), _IN_CHUNK):
        chunk = rows[start : start + _IN_CHUNK]
        ids = [r.id for r in chunk]
        for file in session.scalars(
            select(FileRow)
            .where(FileRow.owner_kind == OWNER_VERSION, FileRow.owner_id.in_([str(i) for i in ids]))
            .order_by(FileRow.name)
        ):
            files[file.owner_id].append(file)
        for version_id, dataset, number in session.execute(
            select(VersionDatasetRow.version_id, DatasetRow.name, DatasetVersionRow.version)
            .join(DatasetVersionRow, DatasetVersionRow.dataset_id == DatasetRow.id)
            .join(VersionDatasetRow, VersionDatasetRow.dataset_version_id == DatasetVersionRow.id)
            .where(VersionDatasetRow.version_id.in_(ids))
            .order_by(DatasetRow.name)
        ):
            datasets[version_id].append(f"{dataset}@{number}")
        for model_id, version, alias in session.execute(
            select(AliasRow.model_id, AliasRow.version, AliasRow.name)
            .where(
                AliasRow.model_id.in_({r.model_id for r in chunk}),
                AliasRow.version.in_({r.version for r in chunk}),
            )
            .order_by(AliasRow.name)
        ):
            aliases[(model_id, version)].append(alias)
    return [
        ModelVersion(
            name=name_of(row.model_id),
            version=row.version,
            flavor=row.flavor,
            status=VersionStatus(row.status),
            signature=dict(row.signature),
            params=dict(row.params),
            metrics={k: float(v) for k, v in row.metrics.items()},
            tags={k: str(v) for k, v in row.tags.items()},
            description=row.description,
            files=tuple(FileRef(f.name, f.sha256, f.size) for f in files[str(row.id)]),
            flavor_meta=dict(row.flavor_meta),
            provenance=dict(row.provenance),
            run_id=row.run_id,
            datasets=tuple(datasets[row.id]),
            created_at=row.created_at,
            created_by=row.created_by,
            aliases=tuple(aliases[(row.model_id, row.version)]),
            checks_off=(
                checks_off(f"{name_of(row.model_id)}@{row.version}")
                if not row.has_profile
                else None
            ),
        )
        for row in rows
    ]
