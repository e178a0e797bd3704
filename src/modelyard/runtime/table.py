"""Which loaded version serves each endpoint, kept in step with the registry.

The table polls the store's change counter; when it moves, every endpoint's reference is
resolved again, new versions are loaded and warmed off the event loop, and only then is the
table swapped — one dict assignment, so a request sees either the old or the new version.
Requests already queued on the old version finish there. A version that fails to load
never replaces the serving one; the failure is kept for health and status reports.
Shadows load after the routes that answer callers, and one that fails is left out (its
failure kept in ``shadow_errors``): a shadow never holds back the answering versions.

A replica that starts (or restarts) with no serving version to keep, and cannot load the
version an endpoint names, falls back to the version that last loaded for that endpoint on
any replica (``fallbacks`` says which), and tries the named one again every
``retry_seconds``. Store calls run with a deadline on threads of their own: a database
that is down or hangs is reported (``store_down_since``), and loaded versions serve on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from modelyard.domain.endpoints import Endpoint, shadow_label
from modelyard.domain.entities import ModelVersion, VersionStatus
from modelyard.domain.names import parse_ref
from modelyard.domain.routing import bounds_of
from modelyard.errors import NotFound, NotReady, StoreUnavailable, YardError, first_line
from modelyard.runtime.active import ActiveEndpoint
from modelyard.runtime.admission import QueueMemory
from modelyard.runtime.batcher import DEFAULT_QUEUE_BYTES, BatchObserver, MicroBatcher
from modelyard.runtime.pool import LoadedVersion, ModelPool
from modelyard.runtime.threads import DeadlineCalls

log = logging.getLogger(__name__)
REPORT_SECONDS = 30.0
MAX_RENEWALS = 3  # fresh copies of one version loaded because its calls hang
# Load failures that may pass by themselves, so the load is tried again on a timer.
TRANSIENT = (StoreUnavailable, OSError, TimeoutError)


ObserverFactory = Callable[[str, str], BatchObserver | None]  # (endpoint, version ref)


@dataclass(frozen=True)
class Fallback:
    """An endpoint served by an earlier version because the one it names cannot load."""

    wanted: str  # the route's reference that failed, e.g. churn@production
    serving: str  # the version serving instead, e.g. churn@2
    reason: str  # why the wanted one did not load (operators only: it may name paths)


class LoadedLog(Protocol):
    """Where replicas record, and look up, the version that last served each endpoint."""

    def record_loaded(self, endpoint: str, version: str, replica: str) -> None: ...

    def last_loaded(self, endpoint: str) -> str | None: ...


class Registry(Protocol):
    """What the table reads from the store (``serving/table_reads.py`` hands each read to
    the service that owns it)."""

    def revision(self) -> int: ...

    def list_endpoints(self) -> list[Endpoint]: ...

    def get_version(self, ref: str, version: int | None = None) -> ModelVersion: ...

    def resolve_many(self, refs: Iterable[str]) -> Mapping[str, ModelVersion | YardError]: ...

    def report_serving(self, replica: str, statuses: dict[str, tuple[str | None, str]]) -> None: ...


class EndpointTable:
    def __init__(
        self,
        yard: Registry,
        pool: ModelPool,
        poll_seconds: float = 1.0,
        observer: ObserverFactory | None = None,
        crowded: Callable[[], bool] | None = None,
        *,
        loaded_log: LoadedLog | None = None,
        store_timeout: float = 5.0,
        retry_seconds: float = 30.0,
        memory: QueueMemory | None = None,
        short_waits: bool = True,
    ) -> None:
        self.yard = yard
        self.pool = pool
        self.poll_seconds = poll_seconds
        self.observer = observer
        self.crowded = crowded
        self.loaded_log = loaded_log
        self.retry_seconds = retry_seconds
        self.memory = memory or QueueMemory(DEFAULT_QUEUE_BYTES)  # shared by every batcher
        self.short_waits = short_waits  # see MicroBatcher._short_wait
        self._store = DeadlineCalls("store", timeout=store_timeout)
        self._active: dict[str, ActiveEndpoint] = {}
        self._known: set[str] = set()
        self.errors: dict[str, str] = {}
        self.fallbacks: dict[str, Fallback] = {}
        self.store_down_since: float | None = None  # wall-clock time of the first failure
        self._recorded: dict[str, str] = {}  # endpoint → version this process recorded
        self._retryable: set[str] = set()  # endpoints whose last load failure may pass
        self._renewals: dict[str, int] = {}  # version → fresh copies loaded for hung calls
        self._retried_at = time.monotonic()
        self.shadow_errors: dict[str, dict[str, str]] = {}  # endpoint → shadow route → why
        self._revision: int | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._draining: set[asyncio.Task[None]] = set()
        self._closing: dict[int, str] = {}  # batchers still draining → the version they use
        self.replica = f"{socket.gethostname()[:100]}:{os.getpid()}"
        self._reported: dict[str, tuple[str | None, str]] | None = None
        self._reported_at = 0.0

    # -- reading (hot path) ---------------------------------------------------------------

    def _batcher(
        self, loaded: LoadedVersion, endpoint: Endpoint, observer: BatchObserver | None
    ) -> MicroBatcher:
        return MicroBatcher(
            loaded.runner,
            endpoint.limits,
            observer,
            self.crowded,
            self.memory,
            short_waits=self.short_waits,
        )

    def get(self, name: str) -> ActiveEndpoint:
        active = self._active.get(name)
        if active is not None:
            return active
        if name in self._known:
            # The load error itself names paths and versions: it is for operators
            # (``GET /api/endpoints/{name}``, logs), not for whoever calls the endpoint.
            why = "none of its versions loads" if name in self.errors else "still loading"
            raise NotReady(f"endpoint {name!r} has no version loaded: {why}")
        raise NotFound(f"endpoint {name!r} not found")

    @property
    def active(self) -> dict[str, ActiveEndpoint]:
        return self._active

    @property
    def known(self) -> list[str]:
        """Every endpoint the store has, loaded or not."""
        return sorted(self._known)

    @property
    def ready(self) -> bool:
        """The first refresh is done. One endpoint that cannot load does not take the whole
        replica out of a load balancer: it answers 503 itself and reports the failure."""
        return self._revision is not None

    @property
    def serving_nothing(self) -> list[str]:
        """Endpoints this process knows and has no version loaded for."""
        return sorted(self._known - set(self._active))

    @property
    def stuck(self) -> list[str]:
        """Endpoints whose answering version has too many model calls that never returned."""
        return sorted(
            name
            for name, active in self._active.items()
            if any(not v.loaded.runner.ready for v in active.every)
        )

    # -- keeping in step ------------------------------------------------------------------

    async def start(self) -> None:
        await self.refresh()
        self._watch_task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                revision = await self._store.call(self.yard.revision)
            except Exception as exc:  # the watcher must outlive a database outage
                self._store_failed(exc)
                continue
            self._store_is_up()
            try:
                renewed = await self._renew_stuck()
                if revision != self._revision or self._retry_due() or renewed:
                    await self.refresh()
                await self._close_expired()
                await self._report()
            except Exception:  # and whatever else goes wrong in one round
                log.exception("refreshing endpoints failed; will retry")

    def _retry_due(self) -> bool:
        """Endpoints whose versions failed to load for a reason that may pass (the store,
        the network) are tried again now and then; a version that is broken (bad bytes,
        refused types, a model that raised or hung warming up) waits for the next change
        instead of costing a load, and maybe a hung thread, every round."""
        if not self._retryable:
            return False
        return time.monotonic() - self._retried_at >= self.retry_seconds

    async def _renew_stuck(self) -> bool:
        """A version with too many hung calls gets a fresh copy (model and thread): calls
        that hang on the model's own state, e.g. a lock a stuck call holds, may then
        recover. At most ``MAX_RENEWALS`` per version, so a model whose every call hangs
        is left not ready rather than copied without end."""
        renewed = False
        for ref, loaded in self.pool.loaded.items():
            if loaded.runner.ready or self._renewals.get(ref, 0) >= MAX_RENEWALS:
                continue
            self._renewals[ref] = self._renewals.get(ref, 0) + 1
            log.error("%s: too many model calls hang; loading a fresh copy", ref)
            try:
                await self.pool.renew(loaded.version)
            except Exception as exc:  # the stuck copy stays (not ready); its calls may return
                log.error("%s: the fresh copy did not load: %s", ref, first_line(exc))
                continue
            renewed = True
        return renewed

    def _store_is_up(self) -> None:
        if self.store_down_since is not None:
            log.warning("the store answers again after %.0f s", time.time() - self.store_down_since)
            self.store_down_since = None

    def _store_failed(self, exc: Exception) -> None:
        if self.store_down_since is None:
            self.store_down_since = time.time()
            log.error(
                "the store does not answer (%s); loaded versions keep serving", first_line(exc)
            )
        else:
            log.debug("the store still does not answer: %s", first_line(exc))

    async def refresh(self) -> None:
        async with self._lock:
            self._retried_at = time.monotonic()
            revision = await self._store.call(self.yard.revision)
            endpoints = await self._store.call(self.yard.list_endpoints)
            refs = [r.model for e in endpoints for r in e.serving_routes]
            resolved = await self._resolve_all(refs)
            table: dict[str, ActiveEndpoint] = {}
            for endpoint in endpoints:
                active = await self._resolve(endpoint, resolved)
                if active is not None:
                    table[endpoint.name] = active
            previous, self._active = self._active, table  # the atomic switch
            self._known = {e.name for e in endpoints}
            self._revision = revision
            self._retire(previous, table)
            self.fallbacks = {k: v for k, v in self.fallbacks.items() if k in self._known}
        await self._record_loaded()
        await self._report()

    async def _record_loaded(self) -> None:
        """Write down what now serves each endpoint (when it changed), for restarts."""
        if self.loaded_log is None:
            return
        for name, active in self._active.items():
            if name in self.fallbacks or self._recorded.get(name) == active.loaded.ref:
                continue
            try:
                await self._store.call(
                    self.loaded_log.record_loaded, name, active.loaded.ref, self.replica
                )
            except Exception as exc:  # a fallback for later; serving goes on without it
                log.warning("could not record what serves %s: %s", name, first_line(exc))
                continue
            self._recorded[name] = active.loaded.ref

    async def _resolve_all(self, refs: list[str]) -> Mapping[str, ModelVersion | Exception]:
        """Every route's version in one read; if the read fails, each route fails with its
        error, so each endpoint falls back (or is retried) as it would on its own."""
        try:
            return await self._store.call(self.yard.resolve_many, refs)
        except Exception as exc:
            return dict.fromkeys(refs, exc)

    async def _resolve(
        self, endpoint: Endpoint, resolved: Mapping[str, ModelVersion | Exception]
    ) -> ActiveEndpoint | None:
        """Load every weighted route's version (reusing what is loaded and unchanged);
        if any fails, keep serving what was serving."""
        current = self._active.get(endpoint.name)
        reusable = {}
        if current is not None and current.endpoint.limits == endpoint.limits:
            loaded_now = self.pool.loaded  # a version renewed since is not reused
            reusable = {
                v.loaded.ref: v for v in current.in_use if loaded_now.get(v.loaded.ref) is v.loaded
            }
        variants: list[ActiveEndpoint] = []
        trying = endpoint.primary.model
        try:
            for route in endpoint.serving_routes:
                trying = route.model
                version = resolved[route.model]
                if isinstance(version, Exception):
                    raise version
                old = reusable.get(version.ref)
                if old is not None:
                    variants.append(ActiveEndpoint(endpoint, old.loaded, old.batcher))
                    continue
                loaded = await self.pool.acquire(version)
                observer = self.observer(endpoint.name, loaded.ref) if self.observer else None
                batcher = self._batcher(loaded, endpoint, observer)
                variants.append(ActiveEndpoint(endpoint, loaded, batcher))
        except Exception as exc:  # keep serving what was serving, whatever went wrong
            message = first_line(exc)
            if isinstance(exc, TRANSIENT):
                self._retryable.add(endpoint.name)
            else:
                self._retryable.discard(endpoint.name)
            for variant in variants:  # batchers made for the switch that did not happen
                if variant.loaded.ref not in reusable:
                    self._close_later(variant)
            if current is None:
                current = await self._fall_back(endpoint, message)
            if current is not None:
                previous = self.fallbacks.get(endpoint.name)
                serving = current.loaded.ref
                self.fallbacks[endpoint.name] = Fallback(trying, serving, message)
                message = f"cannot load {trying}: {message}; serving {serving} instead"
                if previous is None or previous.serving != serving:
                    log.error("endpoint %s: %s", endpoint.name, message)
            else:
                log.error("endpoint %s: cannot load its versions: %s", endpoint.name, message)
            self.errors[endpoint.name] = message
            return current
        self.errors.pop(endpoint.name, None)
        self._retryable.discard(endpoint.name)
        if self.fallbacks.pop(endpoint.name, None) is not None:
            log.warning("endpoint %s: serves what it names again", endpoint.name)
        shadows = await self._load_shadows(endpoint, reusable, {v.loaded.ref for v in variants})
        if shadows:
            variants = [dataclasses.replace(v, shadows=shadows) for v in variants]
        primary = variants[[r.model for r in endpoint.serving_routes].index(endpoint.primary.model)]
        if current is not None and [v.loaded.ref for v in current.every] != [
            v.loaded.ref for v in variants
        ]:
            log.info(
                "endpoint %s: %s → %s",
                endpoint.name,
                ", ".join(v.loaded.ref for v in current.every),
                ", ".join(v.loaded.ref for v in variants),
            )
        if len(variants) == 1:
            return primary
        weights = [r.weight for r in endpoint.serving_routes]
        return ActiveEndpoint(
            endpoint, primary.loaded, primary.batcher, tuple(variants), bounds_of(weights), shadows
        )

    async def _fall_back(self, endpoint: Endpoint, why: str) -> ActiveEndpoint | None:
        """Nothing serves ``endpoint`` here yet and its routes cannot load: serve the version
        that last loaded for it on any replica, alone, if there is one, it is a version of
        the model the endpoint's primary route names, still ready, and it loads."""
        wanted_model = parse_ref(endpoint.primary.model)[0]
        if self.loaded_log is None:
            return None
        try:
            ref = await self._store.call(self.loaded_log.last_loaded, endpoint.name)
            if ref is None:
                return None
            version = await self._store.call(self.yard.get_version, ref)
            if version.name != wanted_model or version.status != VersionStatus.READY:
                return None  # another model, or a version withdrawn since: no fallback
            loaded = await self.pool.acquire(version)
        except Exception as exc:  # nothing to fall back to: the endpoint serves nothing
            log.error(
                "endpoint %s: no fallback either (%s) after: %s",
                endpoint.name,
                first_line(exc),
                why,
            )
            return None
        observer = self.observer(endpoint.name, loaded.ref) if self.observer else None
        batcher = self._batcher(loaded, endpoint, observer)
        return ActiveEndpoint(endpoint, loaded, batcher)

    async def _load_shadows(
        self, endpoint: Endpoint, reusable: dict[str, ActiveEndpoint], answering: set[str]
    ) -> tuple[ActiveEndpoint, ...]:
        """Each shadow route's version, reusing loaded batchers; a shadow that cannot load
        (or resolves to a version already answering) is left out and its reason kept."""
        shadows: list[ActiveEndpoint] = []
        problems: dict[str, str] = {}
        for route in endpoint.shadows:
            try:
                version = await self._store.call(self.yard.get_version, route.model)
                taken = answering | {s.loaded.ref for s in shadows}
                if version.ref in taken:
                    problems[route.model] = f"resolves to {version.ref}, which runs already"
                    continue
                old = reusable.get(version.ref)
                if old is not None:
                    loaded, batcher = old.loaded, old.batcher
                else:
                    loaded = await self.pool.acquire(version)
                    label = shadow_label(loaded.ref)
                    observer = self.observer(endpoint.name, label) if self.observer else None
                    batcher = self._batcher(loaded, endpoint, observer)
                shadows.append(ActiveEndpoint(endpoint, loaded, batcher, mirrored=route.weight))
            except Exception as exc:  # the answering versions serve on without it
                problems[route.model] = first_line(exc)
        for ref, message in problems.items():
            if self.shadow_errors.get(endpoint.name, {}).get(ref) != message:
                log.error("endpoint %s: shadow %s left out: %s", endpoint.name, ref, message)
        if problems:
            self.shadow_errors[endpoint.name] = problems
        else:
            self.shadow_errors.pop(endpoint.name, None)
        return tuple(shadows)

    def _close_later(self, variant: ActiveEndpoint) -> None:
        key = id(variant.batcher)
        self._closing[key] = variant.loaded.ref
        task = asyncio.get_running_loop().create_task(variant.batcher.close())
        self._draining.add(task)
        task.add_done_callback(self._draining.discard)
        task.add_done_callback(functools.partial(self._closed, key))

    def _retire(
        self, previous: dict[str, ActiveEndpoint], table: dict[str, ActiveEndpoint]
    ) -> None:
        """Close batchers no endpoint uses now; a version's grace period starts only when no
        endpoint routes to it and no batcher on it still has queued work."""
        live = {id(v.batcher) for a in table.values() for v in a.in_use}
        for old in previous.values():
            for variant in old.in_use:
                if id(variant.batcher) not in live and id(variant.batcher) not in self._closing:
                    self._close_later(variant)
        self._release_unused()

    def _closed(self, batcher_id: int, _task: object = None) -> None:
        self._closing.pop(batcher_id, None)
        self._release_unused()

    def _release_unused(self) -> None:
        used = {v.loaded.ref for a in self._active.values() for v in a.in_use}
        used |= set(self._closing.values())
        for ref in self.pool.loaded:
            if ref not in used:
                self.pool.release(ref)

    async def _report(self, force: bool = False) -> None:
        """Tell the store what this process serves: on change, and every REPORT_SECONDS."""
        statuses = {
            name: (
                self._active[name].loaded.ref if name in self._active else None,
                self.errors.get(name, ""),
            )
            for name in self._known
        }
        due = time.monotonic() - self._reported_at >= REPORT_SECONDS
        if not force and statuses == self._reported and not due:
            return
        try:
            await self._store.call(self.yard.report_serving, self.replica, statuses)
        except Exception as exc:  # status is informational; serving goes on without it
            log.warning("could not report serving status: %s", first_line(exc))
            return
        self._reported, self._reported_at = statuses, time.monotonic()

    async def _close_expired(self) -> None:
        for loaded in self.pool.expired():
            log.info("unloading %s after its grace period", loaded.ref)
            await asyncio.to_thread(loaded.runner.close)

    async def close(self) -> None:
        """Stop watching, let queued requests finish, unload every model."""
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
        for active in self._active.values():
            for variant in active.in_use:
                await variant.batcher.close()
        if self._draining:
            await asyncio.gather(*self._draining, return_exceptions=True)
        self._known.clear()
        self._active = {}
        await self._report(force=True)  # no rows left: this process serves nothing now
        await asyncio.to_thread(self.pool.close)
        self._store.close()
