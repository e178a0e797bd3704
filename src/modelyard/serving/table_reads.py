"""What the table of live endpoints reads, from the services that own each read.

``runtime.table.Registry`` declares five calls that span four services (the revision is
the audit log's, endpoints are traffic's, versions the registry's, what replicas serve the
monitor's); this hands each call to its owner, so the runtime never holds a whole yard."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from modelyard.domain.endpoints import Endpoint
from modelyard.domain.entities import ModelVersion
from modelyard.services.admin import Admin
from modelyard.services.monitor import Monitor
from modelyard.services.registry import Registry
from modelyard.services.traffic import Traffic
from modelyard.store.resolving import Resolved


@dataclass(frozen=True)
class TableReads:
    registry: Registry
    traffic: Traffic
    monitor: Monitor
    admin: Admin

    def revision(self) -> int:
        return self.admin.revision()

    def list_endpoints(self) -> list[Endpoint]:
        return self.traffic.list_endpoints()

    def get_version(self, ref: str, version: int | None = None) -> ModelVersion:
        return self.registry.get_version(ref, version)

    def resolve_many(self, refs: Iterable[str]) -> Resolved:
        return self.registry.resolve_many(refs)

    def report_serving(self, replica: str, statuses: dict[str, tuple[str | None, str]]) -> None:
        self.monitor.report_serving(replica, statuses)
