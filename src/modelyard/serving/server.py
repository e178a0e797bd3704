"""Running the server: uvicorn with uvloop + httptools (with the read deadlines and the
connection cap of protocol.py, answering v1 predictions on the connection: direct.py), no
access log, N worker processes."""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import resource
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from modelyard.config import MAX_NATIVE_THREADS, Settings
from modelyard.errors import InvalidInput

if TYPE_CHECKING:
    import asyncio

    from modelyard.control.controller import Controller
    from modelyard.services.compose import Services

log = logging.getLogger(__name__)
FILES_BESIDES_CONNECTIONS = 256  # the database, model files, logs, the listening socket


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    if settings.dev and not is_loopback(host):
        raise InvalidInput(
            f"--dev turns API keys off; it is only allowed on a loopback address, not {host}"
        )
    if not 1 <= workers <= 64:
        raise InvalidInput(f"--workers must be from 1 to 64, got {workers}")
    if not 0 <= port <= 65535:
        raise InvalidInput(f"--port must be from 0 to 65535, got {port}")
    _check_port_free(host, port)
    if settings.grpc_port is not None:
        if not 1 <= settings.grpc_port <= 65535:
            raise InvalidInput(f"--grpc-port must be from 1 to 65535, got {settings.grpc_port}")
        if settings.grpc_port == port:
            raise InvalidInput(f"--grpc-port must differ from --port ({port})")
        _check_port_free(host, settings.grpc_port)
        settings = settings.model_copy(update={"grpc_host": host})
    if settings.dev:
        log.warning("--dev: API keys are OFF (loopback only)")
    if settings.max_connections:
        _allow_open_files(settings.max_connections + FILES_BESIDES_CONNECTIONS)
    if settings.native_threads is None:
        settings = settings.model_copy(
            update={"native_threads": default_native_threads(os.cpu_count() or 1, workers)}
        )
    shared_metrics = _share_metrics(workers)
    settings = settings.model_copy(update={"metrics_dir": shared_metrics})
    # Workers are separate processes that build their own app from MODELYARD_* settings, so
    # the settings this process resolved are handed down through the environment.
    for name, value in settings.model_dump().items():
        if value is not None:
            os.environ[f"MODELYARD_{name.upper()}"] = str(value)
        else:
            os.environ.pop(f"MODELYARD_{name.upper()}", None)
    # uvicorn re-raises the signal that stopped it once it has shut down cleanly; with this
    # handler in place, a drained SIGTERM ends the process with status 0, not -15.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    controlling = _start_controller(settings) if settings.controller else None
    try:
        _run(uvicorn, settings, host, port, workers, graceful_seconds(settings))
    finally:
        if controlling is not None:
            controller, services = controlling
            controller.stop()
            services.close()
        if shared_metrics is not None:
            shutil.rmtree(shared_metrics, ignore_errors=True)


def default_native_threads(cores: int, workers: int) -> int:
    """OpenMP/BLAS threads per model call: the cores left once each worker's event loop has
    one, shared between the workers (at least 1). Library defaults would size every pool to
    all cores; and a pool that also takes the event loop's core is worse than a smaller
    one: OpenMP threads spin-wait after each call, so on 2 cores a 2-thread HistGradient-
    Boosting call of 64 rows burned ~4 ms of CPU for 0.5 ms of work and one-row requests
    at c=64 fell 10-20 fold on a busy machine (bench/README.md, request path)."""
    return min(MAX_NATIVE_THREADS, max(1, (cores - workers) // workers))


def _share_metrics(workers: int) -> str | None:
    """With several workers, a fresh private folder for their metric values (each worker's
    prometheus_client writes there, every scrape merges it: serving/metrics.py); removed
    when the server stops. One worker keeps its values in memory."""
    if workers == 1:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return None
    folder = tempfile.mkdtemp(prefix="modelyard-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # read by prometheus_client in workers
    return folder


def graceful_seconds(settings: Settings) -> int:
    """What in-flight requests (HTTP and gRPC) get: what the shutdown cap leaves after the
    drain, less time to write the prediction log (serving/app.py ends the process at the
    cap regardless)."""
    return max(1, int(settings.shutdown_seconds - settings.drain_seconds - 5))


def _run(
    uvicorn: Any, settings: Settings, host: str, port: int, workers: int, graceful: int
) -> None:
    from modelyard.serving.workers import Workers, balanced, listening_sockets

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "workers": workers,
        "loop": "uvloop",
        "http": protocol_for(settings),
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "access_log": False,
        "log_level": "info",
        "timeout_graceful_shutdown": graceful,
        "timeout_keep_alive": settings.keep_alive_seconds,
    }
    app = "modelyard.serving.app:build_app"
    if workers == 1 or not balanced():
        uvicorn.run(app, factory=True, **options)
        return
    # Several workers, each on a listening socket of its own (serving/workers.py).
    config = uvicorn.Config(app, factory=True, **options)  # (sets up uvicorn's logging)
    sockets = listening_sockets(host, port, workers)
    Workers(config, host, sockets, settings.worker_hang_seconds, settings.shutdown_seconds).run()


def protocol_for(settings: Settings) -> Callable[..., asyncio.Protocol]:
    """uvicorn's ``http``: httptools with read deadlines and a connection cap
    (protocol.py), answering v1 predictions itself unless ``direct_predict`` is off
    (direct.py). A ``functools.partial`` of a module-level class: it pickles into
    ``--workers`` processes."""
    from modelyard.serving.direct import DirectProtocol
    from modelyard.serving.protocol import LimitedHttpToolsProtocol

    kind = DirectProtocol if settings.direct_predict else LimitedHttpToolsProtocol
    return functools.partial(
        kind,
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
        max_connections=settings.max_connections,
    )


def _allow_open_files(wanted: int) -> None:
    """Each connection holds a file descriptor: raise the soft open-files limit toward the
    hard one (workers inherit it), so the connection cap is what refuses callers, with an
    answer, rather than a failing accept."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        log.warning(
            "the open-files limit (%d) is below MODELYARD_MAX_CONNECTIONS + %d; connections "
            "past it fail to open instead of getting 503",
            target,
            FILES_BESIDES_CONNECTIONS,
        )


def _start_controller(settings: Settings) -> tuple[Controller, Services]:
    """One controller per `serve` (beside its workers, in this process): they take turns
    through the lease, so a fleet of replicas still acts once. Returns it and the services
    it acts through (to close once it stopped)."""
    from modelyard.services.compose import build_controller, open_services

    services = open_services(settings, actor=f"controller@{socket.gethostname()[:100]}")
    controller = build_controller(services)
    controller.start()
    return controller, services


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror}") from None
