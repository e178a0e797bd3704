"""What the controller reads and changes, declared here as three small Protocols.

The services (``modelyard.services``: ``Traffic``, ``Monitor``, ``Registry``) satisfy them;
``modelyard.services.compose.build_controller`` hands them in. The controller sits below
the services in the layers, so it names what it needs instead of importing them, and
never sees the rest of a yard (keys, backups, registration, tracking).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from modelyard.domain.endpoints import Endpoint, ReplicaStatus, Route
from modelyard.domain.entities import AliasEvent, ModelVersion
from modelyard.domain.policies import Policy
from modelyard.domain.rollouts import Rollout
from modelyard.monitoring.summary import Source
from modelyard.store.policies import PolicyStore
from modelyard.store.rollouts import RolloutStore


class Traffic(Protocol):
    """Endpoints, their routes, rollouts and policies (the traffic service)."""

    @property
    def actor(self) -> str: ...

    @property
    def rollouts(self) -> RolloutStore: ...  # the controller steps rollouts in one write

    @property
    def policies(self) -> PolicyStore: ...  # and keeps each policy's breach state

    def get_endpoint(self, name: str) -> Endpoint: ...

    def set_routes(
        self,
        name: str,
        routes: Sequence[Route],
        *,
        sticky_key: str | None = None,
        reason: str = "",
    ) -> Endpoint: ...

    def active_rollout(self, endpoint: str) -> Rollout | None: ...

    def abort_rollout(self, endpoint: str, *, reason: str = "") -> Rollout: ...

    def list_policies(self, endpoint: str | None = None) -> list[Policy]: ...

    def record_event(self, endpoint: str, action: str, details: dict[str, Any]) -> None: ...


class Readings(Source, Protocol):
    """What served traffic left behind (the monitor service): the summaries' source, what
    each replica reports, and the hourly compaction."""

    def serving_status(self, endpoint: str) -> list[ReplicaStatus]: ...

    def compact_monitoring(self) -> object: ...


class Aliases(Protocol):
    """Versions and the aliases that point at them (the registry service)."""

    def get_version(self, ref: str, version: int | None = None) -> ModelVersion: ...

    def rollback(self, name: str, alias: str = "production", *, reason: str = "") -> AliasEvent: ...


@dataclass(frozen=True)
class Ports:
    """The three services a controller acts through, and the monitor's bucket length."""

    traffic: Traffic
    monitor: Readings
    registry: Aliases
    bucket_seconds: int = 300  # the longest monitor bucket a summary looks back for
