"""The composition root of the server: wires the services, runtime, metrics and routes.

``create_app`` takes built objects so tests can pass their own; ``build_app`` builds them
from settings (it is what ``uvicorn --factory`` and ``modelyard serve --workers N`` call).
Each part gets the services it uses: the endpoint table its reads, the recorder the
monitor service, the admin routes the admin half (``dataplane.Admin``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp

from modelyard.config import GrpcFront, Settings, load_settings
from modelyard.domain.monitor_results import MonitorSummary
from modelyard.errors import YardError
from modelyard.monitoring.prometheus import MonitorGauges
from modelyard.monitoring.recorder import Recorder
from modelyard.monitoring.summary import summarize_recent
from modelyard.packages import package_version
from modelyard.runtime.admission import QueueMemory
from modelyard.runtime.pool import ModelPool
from modelyard.runtime.table import EndpointTable
from modelyard.runtime.threads import DeadlineCalls
from modelyard.services.compose import Services, open_services
from modelyard.serving import (
    audit_api,
    console,
    docs,
    feedback,
    monitor,
    registry_api,
    rollouts,
    status,
    v1,
    v2,
)
from modelyard.serving.auth import Authenticator
from modelyard.serving.context import RequestContext
from modelyard.serving.dataplane import Admin, DataPlane, Receiving
from modelyard.serving.errors import HttpError, error_response, respond_to_error
from modelyard.serving.fastpath import FastPaths
from modelyard.serving.inference import Inference
from modelyard.serving.key_cache import KeyCache
from modelyard.serving.limits import CallerLimits
from modelyard.serving.metrics import Metrics
from modelyard.serving.server import default_native_threads, graceful_seconds
from modelyard.serving.shadow import Mirror
from modelyard.serving.storecall import ACTION_SECONDS
from modelyard.serving.table_reads import TableReads

if TYPE_CHECKING:
    from modelyard.serving.grpc.server import GrpcServer

log = logging.getLogger(__name__)
LAST_WORDS_SECONDS = 10.0  # the prediction log's last write, when shutting down is stuck


def create_app(
    services: Services, settings: Settings, *, auth: bool = True, handle_sigterm: bool = False
) -> FastAPI:
    """The app over ``services`` (closed when it shuts down); ``settings``: the server's."""
    stores = services.stores
    grpc_front = _grpc_front(settings)
    threads = settings.native_threads or default_native_threads(os.cpu_count() or 1, 1)
    pool = ModelPool(stores.artifacts, threads, settings.swap_grace_seconds)
    metrics = Metrics(CollectorRegistry(auto_describe=True), settings.metrics_dir)
    receiving = Receiving()
    table = EndpointTable(
        TableReads(services.registry, services.traffic, services.monitor, services.admin),
        pool,
        settings.poll_seconds,
        metrics.observer,
        crowded=receiving.crowded,
        loaded_log=stores.status,
        store_timeout=settings.store_timeout_seconds,
        retry_seconds=settings.load_retry_seconds,
        memory=QueueMemory(settings.max_queued_bytes),
        # see runtime/batcher.py, _short_wait: not beside grpcio's asyncio server
        short_waits=grpc_front != "grpcio",
    )
    # Request paths reach the store through calls with a deadline, on threads of their own
    # (key checks apart from the rest, so slow admin reads cannot delay predictions).
    key_calls = DeadlineCalls("keys", timeout=settings.store_timeout_seconds)
    store_calls = DeadlineCalls("requests", timeout=settings.store_timeout_seconds, workers=4)
    long_calls = DeadlineCalls("long", timeout=ACTION_SECONDS, workers=2, max_pending=16)
    keys = KeyCache(
        stores.keys,
        key_calls,
        check_seconds=settings.key_check_seconds,
        stale_seconds=settings.key_stale_seconds,
        store_down=lambda: table.store_down_since is not None,
    )
    recorder = (
        Recorder(
            services.monitor,
            bucket_seconds=settings.monitor_bucket_seconds,
            flush_seconds=settings.monitor_flush_seconds,
            flush_rows=settings.monitor_flush_rows,
            max_pending_rows=settings.monitor_max_pending_rows,
            max_unwritten_bytes=settings.monitor_max_unwritten_bytes,
            max_unsaved_bytes=settings.monitor_max_unsaved_bytes,
        )
        if settings.monitoring
        else None
    )
    mirror = Mirror(metrics.shadow, recorder)
    metrics.watch(table, recorder)
    gauges = MonitorGauges()
    metrics.read_at_scrape(gauges)  # from the store: every worker reports the same

    def monitor_summary(
        name: str, period: timedelta, histograms: bool = False, timeline: bool = True
    ) -> MonitorSummary:
        return summarize_recent(
            services.monitor,
            name,
            period,
            max_labeled=settings.quality_max_rows,
            histograms=histograms,
            timeline=timeline,
            bucket_seconds=settings.monitor_bucket_seconds,
        )

    def rolling_summary(name: str) -> MonitorSummary:
        return monitor_summary(
            name, timedelta(seconds=settings.monitor_rolling_seconds), False, False
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        grpc_server = _grpc_server(app, settings, grpc_front)
        grace = graceful_seconds(settings)
        stop_grpc = None if grpc_server is None else partial(grpc_server.begin_stop, grace)
        if handle_sigterm:
            last_words = recorder.close if recorder is not None else None
            _drain_on_sigterm(
                plane, settings.drain_seconds, settings.shutdown_seconds, last_words, stop_grpc
            )
        await table.start()
        sampling = (
            asyncio.get_running_loop().create_task(metrics.keep_sampling())
            if metrics.shared_dir is not None
            else None
        )
        if grpc_server is not None:
            await grpc_server.start()
        refreshing = None
        if recorder is not None:
            recorder.start()
            refreshing = asyncio.get_running_loop().create_task(
                gauges.keep_fresh(
                    lambda: table.known, rolling_summary, settings.monitor_refresh_seconds
                )
            )
        # Models, libraries and the app are loaded now and live as long as the process:
        # move them out of the collector's sight so full collections stay short (they
        # otherwise walk every loaded model object and show up as p99 spikes).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            plane.draining = True
            if grpc_server is not None:  # (HTTP has stopped taking requests by now)
                await grpc_server.stop(grace)
            for task in (refreshing, sampling):
                if task is not None:
                    task.cancel()
                    with suppress(asyncio.CancelledError):
                        await task
            await table.close()  # in-flight requests finish, and are recorded ...
            await mirror.drain()  # (mirrored ones too)
            try:
                if recorder is not None:
                    await asyncio.to_thread(recorder.close)  # ... then written: none lost
            except Exception:  # the store is gone: say so, and still close what is open
                log.exception("the last monitoring flush failed; queued rows are lost")
            finally:
                for calls in (key_calls, store_calls, long_calls):
                    calls.close()
                services.close()
                metrics.leave()

    app = FastAPI(
        title="modelyard",
        version=package_version("modelyard"),
        description="Inference (simple JSON and Open Inference Protocol v2), health, metrics "
        "and admin for the models in a modelyard.",
        lifespan=lifespan,
        docs_url=None,  # served by serving/docs.py behind a scope, from local files
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,  # a trailing slash is a 404 in JSON, not a bare redirect
    )
    limits = CallerLimits.from_settings(settings)
    plane = DataPlane(
        table=table,
        metrics=metrics,
        auth=Authenticator(keys, enabled=auth, metrics_scope=settings.metrics_scope, limits=limits),
        limits=limits,
        inference=Inference(metrics, recorder, mirror),
        admin=Admin.over(services, store_calls, long_calls, monitor_summary),
        max_body_bytes=settings.max_body_bytes,
        receiving=receiving,
    )
    app.state.plane = plane
    app.include_router(v1.router)
    app.include_router(feedback.router)
    app.include_router(monitor.router)
    app.include_router(rollouts.router)
    app.include_router(registry_api.router)
    app.include_router(audit_api.router)
    app.include_router(console.router)
    app.include_router(v2.router)
    app.include_router(status.router)
    app.include_router(docs.router)
    _install_error_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(YardError)
    async def yard_error(request: Request, exc: YardError) -> Response:
        return respond_to_error(request.scope, exc)

    @app.exception_handler(HttpError)
    async def http_error(request: Request, exc: HttpError) -> Response:
        return respond_to_error(request.scope, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "rule": e.get("msg")}
            for e in exc.errors()
        ]
        return error_response(request.scope, 422, "invalid", "the request is not valid", problems)

    @app.exception_handler(StarletteHTTPException)
    async def starlette_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(
            request.scope,
            exc.status_code,
            code,
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return respond_to_error(request.scope, exc)


def _grpc_front(settings: Settings) -> GrpcFront | None:
    """The front gRPC is served with (serving/grpc/server.py), or ``None`` without gRPC."""
    if settings.grpc_port is None:
        return None
    from modelyard.serving.grpc.server import front_of

    return front_of(settings.grpc_front)


def _grpc_server(app: FastAPI, settings: Settings, front: GrpcFront | None) -> GrpcServer | None:
    """``front``: :func:`_grpc_front`'s, ``None`` without a gRPC port."""
    if front is None or settings.grpc_port is None:
        return None
    from modelyard.serving.grpc.server import GrpcServer

    return GrpcServer(app, settings.grpc_host, settings.grpc_port, settings.max_body_bytes, front)


def _drain_on_sigterm(
    plane: DataPlane,
    seconds: float,
    cap_seconds: float,
    last_words: Callable[[], None] | None,
    stop_grpc: Callable[[], None] | None = None,
) -> None:
    """On SIGTERM report not-ready first, so load balancers stop sending, then shut down
    (HTTP and gRPC together: both stop taking calls and finish those in flight); if that
    hangs (a model call, the database), exit ``cap_seconds`` after the signal anyway, once
    ``last_words`` (writing the prediction log) had its chance."""
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if plane.draining:
            return
        plane.draining = True
        log.info("SIGTERM: not ready for %.1fs, then finishing in-flight requests", seconds)
        # The last words start early enough that the process is gone by the cap.
        exit_anyway_after(max(seconds + 1, cap_seconds - LAST_WORDS_SECONDS), last_words)

        def hand_over() -> None:
            if stop_grpc is not None:
                stop_grpc()
            if callable(previous):
                previous(signum, frame)

        loop.call_soon_threadsafe(loop.call_later, seconds, hand_over)

    signal.signal(signal.SIGTERM, on_sigterm)


def exit_anyway_after(seconds: float, last_words: Callable[[], None] | None) -> None:
    """A daemon timer: if the process still runs ``seconds`` from now, call ``last_words``
    (at most ``LAST_WORDS_SECONDS``) and end the process: status 0 if they finished, else 1.
    A clean shutdown ends the process first, and the timer with it."""

    def expire() -> None:
        time.sleep(seconds)
        log.error("shutdown did not finish in %.0f s; writing what is left and exiting", seconds)
        done = threading.Event()

        def speak() -> None:
            try:
                if last_words is not None:
                    last_words()
                done.set()
            except Exception:
                log.exception("the last words before exit failed")

        threading.Thread(target=speak, name="last-words", daemon=True).start()
        finished = done.wait(LAST_WORDS_SECONDS)
        logging.shutdown()
        os._exit(0 if finished else 1)

    threading.Thread(target=expire, name="shutdown-cap", daemon=True).start()


def _log_to_stderr() -> None:
    """Model loads, swaps and failures are operators' business: show them like uvicorn's."""
    logger = logging.getLogger("modelyard")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     [%(process)d] %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def asgi_app(app: FastAPI) -> ASGIApp:
    """What the server runs: request ids around the per-client rate limit (when on) around
    the inference fast path around FastAPI."""
    plane: DataPlane = app.state.plane
    return RequestContext(plane.limits.around(FastPaths(app)))


def build_app() -> ASGIApp:
    """Build from MODELYARD_* settings (used by uvicorn workers)."""
    _log_to_stderr()
    settings = load_settings()
    services = open_services(settings)
    app = create_app(services, settings, auth=not settings.dev, handle_sigterm=True)
    return asgi_app(app)
