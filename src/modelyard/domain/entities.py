"""Registry, tracking and dataset entities: frozen, comparable, JSON-friendly."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class VersionStatus(StrEnum):
    READY = "ready"
    ARCHIVED = "archived"


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True)
class FileRef:
    """One stored file of an owner: its logical name and the content address of its bytes."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Model:
    name: str
    description: str
    latest_version: int | None  # the highest version that is ready (not archived or deleted)
    versions: int  # how many versions exist now
    created_at: datetime
    aliases: dict[str, int] = field(default_factory=dict)
    last_change: datetime | None = None  # newest registration or alias move


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    flavor: str
    status: VersionStatus
    signature: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    description: str
    files: tuple[FileRef, ...]
    flavor_meta: dict[str, Any]
    provenance: dict[str, Any]
    run_id: str | None
    datasets: tuple[str, ...]
    created_at: datetime
    created_by: str
    aliases: tuple[str, ...] = ()
    # Why drift and the gate's data checks are off for this version (no reference profile);
    # None when they are on.
    checks_off: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def file(self, name: str) -> FileRef:
        for ref in self.files:
            if ref.name == name:
                return ref
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["status"] = str(self.status)
        return data


@dataclass(frozen=True)
class AliasEvent:
    seq: int
    model: str
    alias: str
    from_version: int | None
    to_version: int | None
    kind: str  # set | rollback | delete
    actor: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "details": self.details,
        }


@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: float
    step: int
    at: datetime


@dataclass(frozen=True)
class Run:
    id: str
    experiment: str
    name: str
    status: RunStatus
    started_at: datetime
    ended_at: datetime | None
    params: dict[str, str]
    metrics: dict[str, float]  # latest value per key
    files: tuple[FileRef, ...]
    provenance: dict[str, Any]
    error: str


@dataclass(frozen=True)
class DatasetVersion:
    name: str
    version: int
    sha256: str
    size: int
    rows: int
    format: str
    schema: dict[str, Any]
    profile: dict[str, Any]
    source: str
    description: str
    created_at: datetime
    created_by: str

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"
