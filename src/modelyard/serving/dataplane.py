"""The data plane: the one object a prediction goes through, whatever the wire protocol.

v1 (``v1.py``) and the Open Inference Protocol (``v2.py``) decode a request, call
:meth:`DataPlane.infer`, and encode what it returns; the fast path (``fastpath.py``)
admits the caller and calls :meth:`DataPlane.finished` once the response is sent. The app
keeps this one object in ``app.state.plane``; admin routes reach the store through its
``admin`` half, which holds the services they call (never the whole ``Yard``).

What is the same for every request to an endpoint's version (bound Prometheus children)
is made once per version and kept here, not per request.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request

from modelyard.domain.refusal_rules import CALLERS_BUSINESS
from modelyard.runtime.active import ActiveEndpoint
from modelyard.runtime.events import PredictionObserver
from modelyard.runtime.inputs import Columns
from modelyard.runtime.table import EndpointTable
from modelyard.runtime.threads import DeadlineCalls
from modelyard.serving.errors import RecentErrors
from modelyard.serving.inference import Inference, Served
from modelyard.serving.metrics import Metrics
from modelyard.serving.shadow import Mirror

if TYPE_CHECKING:
    from prometheus_client.metrics import Counter, Histogram

    from modelyard.domain.monitor_results import MonitorSummary
    from modelyard.services.admin import Admin as Upkeep
    from modelyard.services.compose import Services
    from modelyard.services.experiments import Experiments
    from modelyard.services.monitor import Monitor
    from modelyard.services.registry import Registry
    from modelyard.services.traffic import Traffic
    from modelyard.serving.auth import Authenticator
    from modelyard.serving.limits import CallerLimits


class Receiving:
    """How many inference requests this process is handling (read by the batchers)."""

    def __init__(self) -> None:
        self.count = 0

    def crowded(self) -> bool:
        return self.count > 1


@dataclass(frozen=True)
class Admin:
    """What the admin, feedback and monitor routes need besides the data plane: the
    services they call, acting as ``actor`` (a route that changes something acts as the
    caller's key: ``acting_as``), and the threads that call the store."""

    actor: str
    registry: Registry
    traffic: Traffic
    experiments: Experiments
    monitor: Monitor
    upkeep: Upkeep  # the audit log
    store_calls: DeadlineCalls  # reads, with the store timeout
    long_calls: DeadlineCalls  # summaries and actions (see storecall.py)
    monitor_summary: Callable[..., MonitorSummary]  # (endpoint, period, histograms, timeline)
    services_for: Callable[[str], Services]  # the same services recording another actor

    @classmethod
    def over(
        cls,
        services: Services,
        store_calls: DeadlineCalls,
        long_calls: DeadlineCalls,
        monitor_summary: Callable[..., MonitorSummary],
    ) -> Admin:
        return cls(
            actor=services.actor,
            registry=services.registry,
            traffic=services.traffic,
            experiments=services.experiments,
            monitor=services.monitor,
            upkeep=services.admin,
            store_calls=store_calls,
            long_calls=long_calls,
            monitor_summary=monitor_summary,
            services_for=services.acting_as,
        )

    def acting_as(self, actor: str) -> Admin:
        """The same admin half, its services recording ``actor`` on what they change."""
        return Admin.over(
            self.services_for(actor), self.store_calls, self.long_calls, self.monitor_summary
        )


@dataclass(eq=False)
class DataPlane:
    """Everything serving holds, typed: the live endpoints, metrics, auth and limits on
    callers, the inference step (observer, shadow mirror), and the admin half."""

    table: EndpointTable
    metrics: Metrics
    auth: Authenticator
    limits: CallerLimits
    inference: Inference
    admin: Admin
    max_body_bytes: int
    receiving: Receiving = field(default_factory=Receiving)
    recent_errors: RecentErrors = field(default_factory=RecentErrors)
    draining: bool = False
    # Bound Prometheus children, made on first use (label values are endpoint names this
    # process serves, "unknown", versions and statuses: a bounded set).
    _requests: dict[tuple[str, str, int], Counter] = field(default_factory=dict, repr=False)
    _latency: dict[str, Histogram] = field(default_factory=dict, repr=False)

    @property
    def ready(self) -> bool:
        """Loaded, not draining, and serving something if it knows of any endpoint (a
        replica that can answer nothing, e.g. restarted onto versions that do not load,
        must not take traffic)."""
        table = self.table
        if not table.ready or self.draining:
            return False
        return not table.known or bool(table.active)

    def endpoint(self, name: str) -> ActiveEndpoint:
        """The endpoint as served now (404 unknown, 503 not loaded)."""
        return self.table.get(name)

    @property
    def infer(
        self,
    ) -> Callable[[ActiveEndpoint, Columns, str | None, float | None], Awaitable[Served]]:
        """``infer(active, columns, routing_key, deadline)``: the inference step's own
        coroutine (a coroutine of this object's around it was one more frame and
        coroutine per request). ``deadline``: seconds the caller gives it (at most the
        endpoint's timeout)."""
        return self.inference.infer

    @property
    def observer(self) -> PredictionObserver | None:
        return self.inference.observer

    @property
    def mirror(self) -> Mirror:
        return self.inference.mirror

    def finished(
        self,
        name: str,
        status: int,
        version: str,
        admitted: bool,
        started: float,
        rule: str | None = None,
    ) -> None:
        """Count one answered inference request (refusals included): by endpoint, the
        version that answered (or ""), status; its latency; and, for the endpoint's own
        errors, a failure in its monitor window. Unknown names share one label value so
        URLs cannot grow the number of series."""
        table = self.table
        known = name in table.active or name in table.errors
        label = name if known else "unknown"
        key = (label, version, status)
        requests = self._requests.get(key)
        if requests is None:
            requests = self._requests[key] = self.metrics.requests.labels(
                label, version, str(status)
            )
        requests.inc()
        # Nor is anything that failed before the caller was admitted (a key that could
        # not be checked) the endpoint's error.
        if (
            admitted
            and status >= 400
            and status not in CALLERS_BUSINESS
            and known
            and self.observer is not None
        ):
            active = table.active.get(name)
            serving = version or (active.loaded.ref if active is not None else "")
            if serving:  # errors before any version loaded have no window to go to
                self.observer.failed(name, serving, status, rule)
        latency = self._latency.get(label)
        if latency is None:
            latency = self._latency[label] = self.metrics.latency.labels(label)
        latency.observe(time.perf_counter() - started)


def plane_of(request: Request) -> DataPlane:
    """The data plane of the app serving ``request``."""
    plane: DataPlane = request.app.state.plane
    return plane


def admin_of(request: Request) -> Admin:
    """The admin half of the app serving ``request``: the services its routes call."""
    return plane_of(request).admin
