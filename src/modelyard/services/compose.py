"""The composition root of a yard: the stores, each service built with only what it uses,
and the controller built from the three services it acts through.

The ``Yard`` facade, the server and ``modelyard controller`` all compose here, so there is
one place that knows which service gets which store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelyard.config import Settings
from modelyard.domain.values import check_text
from modelyard.services.admin import Admin
from modelyard.services.experiments import Experiments
from modelyard.services.monitor import Monitor
from modelyard.services.registry import Registry
from modelyard.services.stores import Stores, open_stores
from modelyard.services.tracking import Tracking
from modelyard.services.traffic import Traffic

if TYPE_CHECKING:
    from modelyard.control.actions import Retry
    from modelyard.control.controller import Controller

MAX_ACTOR = 128


@dataclass(frozen=True)
class Services:
    """One yard's services over its stores, each recording ``actor`` on what it changes.
    Callers keep the ones they use (the server's admin half, the controller), not this."""

    stores: Stores
    settings: Settings
    actor: str
    registry: Registry
    tracking: Tracking
    traffic: Traffic
    experiments: Experiments
    monitor: Monitor
    admin: Admin

    def acting_as(self, actor: str) -> Services:
        """The same stores and connections, recording ``actor`` (a server acts for the key
        that made each request)."""
        return build_services(self.stores, self.settings, actor)

    def close(self) -> None:
        self.stores.db.dispose()


def build_services(stores: Stores, settings: Settings, actor: str) -> Services:
    """Each service with only the stores it uses."""
    check_text(actor, "actor", MAX_ACTOR)
    s = stores
    return Services(
        stores=stores,
        settings=settings,
        actor=actor,
        registry=Registry(
            s.db, s.registry, s.artifacts, s.blobs, s.tracking, s.datasets, settings, actor
        ),
        tracking=Tracking(s.tracking, s.datasets, s.artifacts, s.blobs, settings, actor),
        traffic=Traffic(s.db, s.endpoints, s.rollouts, s.policies, s.registry, settings, actor),
        experiments=Experiments(s.endpoints, s.abtests, s.predictions, s.registry, actor),
        monitor=Monitor(
            s.db, s.predictions, s.windows, s.status, s.endpoints, s.registry, actor, s.artifacts
        ),
        admin=Admin(s.db, s.keys, s.artifacts, s.blobs, settings, actor),
    )


def open_services(settings: Settings, *, actor: str | None = None) -> Services:
    """The database (migrated), its stores and the services, acting as ``actor`` (default:
    the settings' actor)."""
    actor = settings.actor if actor is None else actor
    check_text(actor, "actor", MAX_ACTOR)  # before the database is opened
    return build_services(open_stores(settings), settings, actor)


def build_controller(
    services: Services, *, interval: float | None = None, retry: Retry | None = None
) -> Controller:
    """A controller acting through the traffic, monitor and registry services, under the
    yard's lease, webhook rules and retry settings."""
    from modelyard.control.actions import Retry
    from modelyard.control.controller import Controller
    from modelyard.control.lease import lease_for
    from modelyard.control.ports import Ports
    from modelyard.control.webhooks import Webhooks

    settings = services.settings
    ports = Ports(
        traffic=services.traffic,
        monitor=services.monitor,
        registry=services.registry,
        bucket_seconds=settings.monitor_bucket_seconds,
    )
    return Controller(
        ports,
        lease_for(services.stores.db),
        interval=settings.controller_interval if interval is None else interval,
        retry=retry or Retry(settings.webhook_attempts, settings.webhook_backoff_seconds),
        webhooks=Webhooks.from_settings(settings),
    )
