"""Settings: the one place that reads the environment (``MODELYARD_*``)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


GrpcFront = Literal["native", "grpcio"]  # gRPC's HTTP/2 server (serving/grpc/server.py)
MAX_NATIVE_THREADS = 256  # per model call; the default never asks for more


class Settings(BaseSettings):
    """Where the yard lives and who is acting; read once, passed down explicitly."""

    model_config = SettingsConfigDict(env_prefix="MODELYARD_", extra="ignore")

    home: Path = Field(default=Path(".modelyard"), description="Folder of the embedded yard.")
    db_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<home>/yard.db."
    )
    artifacts: str | None = Field(
        default=None, description="fsspec URL of the artifact store; default <home>/artifacts."
    )
    actor: str = Field(default_factory=current_user, description="Who mutations are by.")
    reference_sample_rows: int = Field(
        default=10_000, ge=0, description="Rows kept of a registration sample (reservoir)."
    )
    profile_bins: int = Field(default=100, ge=2, le=1000, description="Quantile bins per feature.")
    gc_grace_seconds: float = Field(
        default=3600.0, ge=0, description="gc never removes blobs or temp files younger than this."
    )

    # -- serving ------------------------------------------------------------------------
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest request body accepted (413)."
    )
    max_queued_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024 * 1024,
        description="Decoded request rows waiting for a model, per server process: a memory "
        "bound only (503 past it; an idle process takes any one request).",
    )
    grpc_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Serve the Open Inference Protocol v2 over gRPC on this port too "
        "(`serve --grpc-port`); off by default.",
    )
    grpc_host: str = Field(
        default="127.0.0.1",
        description="Address the gRPC port listens on (`serve` sets it to its --host).",
    )
    grpc_front: GrpcFront = Field(
        default="native",
        description="gRPC's HTTP/2 server: 'native' (pygrpc-native: HTTP/2 on Rust threads "
        "outside the GIL; grpcio's where it cannot be imported) or 'grpcio' (grpcio's "
        "asyncio server). The same RPCs, statuses and metadata either way.",
    )
    poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often servers check for alias/endpoint moves."
    )
    swap_grace_seconds: float = Field(
        default=300.0, ge=0, description="How long a replaced version stays loaded (rollback)."
    )
    native_threads: int | None = Field(
        default=None,
        ge=1,
        le=MAX_NATIVE_THREADS,
        description="OpenMP/BLAS threads per model call; default: (cores - workers) / workers, "
        f"at least 1, at most {MAX_NATIVE_THREADS} (each worker's event loop keeps a core).",
    )
    drain_seconds: float = Field(
        default=2.0, ge=0, le=300, description="After SIGTERM, readiness is 503 this long first."
    )
    shutdown_seconds: float = Field(
        default=20.0,
        ge=1,
        le=3600,
        description="A server exits this long after SIGTERM at the latest: if draining, "
        "in-flight requests and the last log write have not finished by then (a model call "
        "or the database hanging), it writes its prediction log (10 s at most) and exits.",
    )
    store_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="Longest a server waits for one database call on a request or watch path "
        "(then 503, or the loaded versions serve on).",
    )
    key_check_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="A checked API key is checked again (in the background) after this long: "
        "a revoked key stops working within it while the database answers.",
    )
    key_stale_seconds: float = Field(
        default=3600.0,
        ge=0,
        le=30 * 86_400,
        description="How long a checked API key keeps working while the database cannot be "
        "reached.",
    )
    load_retry_seconds: float = Field(
        default=30.0,
        gt=0,
        le=86_400,
        description="How often a server tries again to load an endpoint's version that "
        "failed to load.",
    )
    dev: bool = Field(default=False, description="No API keys (only on a loopback address).")
    metrics_scope: Literal["open", "read"] = Field(
        default="open", description="Whether /metrics needs a key with the read scope."
    )
    metrics_dir: str | None = Field(
        default=None,
        description="Folder where the workers of one `serve --workers N` keep their metric "
        "values for every scrape to merge; `serve` makes a fresh one per server and removes "
        "it at exit (set by `serve`, not by hand).",
    )
    # Limits on callers (docs/security.md, "Limits on callers"); 0 turns each one off.
    key_rate_limit: float = Field(
        default=0.0,
        ge=0,
        le=1_000_000,
        description="Requests/s per API key and server process for keys created without "
        "--rate-limit (429 past it).",
    )
    key_rate_burst: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Burst of that default; one second's worth."
    )
    client_rate_limit: float = Field(
        default=0.0,
        ge=0,
        le=1_000_000,
        description="Requests/s per client address and server process (429 past it).",
    )
    client_rate_burst: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Burst of that limit; one second's worth."
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1,::1",
        min_length=1,
        description="Proxies whose X-Forwarded-For names the client ('*': any).",
    )
    auth_failure_limit: int = Field(
        default=20,
        ge=0,
        le=1_000_000,
        description="Invalid API keys one client address may present per window before 429.",
    )
    auth_failure_window_seconds: float = Field(
        default=60.0, gt=0, le=86_400, description="The window those failures refill over."
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="A connection's request headers must arrive within this (408, or close).",
    )
    body_timeout_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="A request body must arrive within this of its headers (408, or close).",
    )
    keep_alive_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="An idle connection is closed this long after its last answer; behind a "
        "load balancer, set it above the balancer's own idle timeout.",
    )
    max_connections: int = Field(
        default=1024,
        ge=0,
        le=1_000_000,
        description="Open connections per server process; past it: 503 and close.",
    )
    worker_hang_seconds: float = Field(
        default=30.0,
        ge=2,  # ticks come every 0.1 s, checks every 0.5 s: less would kill sound workers
        le=3600,
        description="With --workers N: a worker whose event loop has not run for this long "
        "is killed and replaced (it would keep its share of new connections).",
    )
    direct_predict: bool = Field(
        default=True,
        description="Answer inference requests (v1 predict, v2 infer) whose body arrives "
        "with its headers on the connection itself, without the ASGI layers (same checks "
        "and answers, less event-loop CPU per request); false: all go through ASGI.",
    )

    # -- monitoring -----------------------------------------------------------------------
    monitoring: bool = Field(
        default=True, description="Record predictions and sketches while serving."
    )
    monitor_flush_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often servers write prediction rows and sketches (kill -9 loses "
        "at most this much).",
    )
    monitor_flush_rows: int = Field(
        default=4096,
        ge=1,
        le=1_000_000,
        description="A flush starts early once this many prediction rows wait (a busy "
        "server writes smaller batches more often).",
    )
    monitor_bucket_seconds: int = Field(
        default=300, ge=1, le=86_400, description="Length of a monitor window's time bucket."
    )
    monitor_rolling_seconds: int = Field(
        default=3600,
        ge=1,
        le=30 * 86_400,
        description="Trailing period the Prometheus drift/quality gauges summarise.",
    )
    monitor_refresh_seconds: float = Field(
        default=15.0, gt=0, le=3600, description="How often servers recompute those gauges."
    )
    monitor_max_pending_rows: int = Field(
        default=200_000,
        ge=1000,
        description="Prediction rows queued for the log before new ones are dropped (counted).",
    )
    monitor_max_unwritten_bytes: int = Field(
        default=64 * 2**20,
        ge=2**16,
        description="Memory for prediction log rows whose write failed (the database is "
        "down), kept to be written again; past it the newest are dropped (counted).",
    )
    monitor_max_unsaved_bytes: int = Field(
        default=32 * 2**20,
        ge=2**16,
        description="Size (as JSON) of monitor windows whose save failed (the database is "
        "down), kept to be saved later; past it the oldest lose their segments, then whole "
        "ended windows are dropped (counted).",
    )
    quality_max_rows: int = Field(
        default=100_000, ge=100, description="Most recent labelled predictions quality reads."
    )

    # -- control --------------------------------------------------------------------------
    controller: bool = Field(
        default=True,
        description="Run the controller (rollouts, policies) inside `modelyard serve`; "
        "one process acts at a time whatever the number of replicas.",
    )
    controller_interval: float = Field(
        default=5.0, ge=0.1, le=3600, description="Seconds between two controller ticks."
    )
    webhook_attempts: int = Field(
        default=4, ge=1, le=20, description="Tries per alert webhook before it counts as failed."
    )
    webhook_backoff_seconds: float = Field(
        default=0.5, gt=0, le=600, description="Wait before the second try; doubles after each."
    )
    webhook_allow: str = Field(
        default="",
        description="Host names, addresses and networks alert webhooks may reach although "
        "they are not public, comma-separated (e.g. 127.0.0.1,hooks.corp,10.8.0.0/16).",
    )
    webhook_resolve: str = Field(
        default="",
        description="HOST=ADDRESS answers for webhook hosts, used instead of DNS and checked "
        "like DNS answers, comma-separated (like curl --resolve).",
    )

    @field_validator("webhook_allow", "webhook_resolve")
    @classmethod
    def _webhook_rules(cls, value: str, info: ValidationInfo) -> str:
        """Refuse a malformed entry when the settings are read, not at the first alert."""
        from pydantic_core import PydanticCustomError

        from modelyard.domain.webhooks import parse_rules
        from modelyard.errors import InvalidInput

        try:
            if info.field_name == "webhook_allow":
                parse_rules(value)
            else:
                parse_rules("", value)
        except InvalidInput as exc:
            message = str(exc).split(": ", 1)[-1]
            raise PydanticCustomError("webhook_rules", message) from None
        return value

    @property
    def resolved_db_url(self) -> str:
        return self.db_url or f"sqlite:///{(self.home / 'yard.db').absolute()}"

    @property
    def resolved_artifacts(self) -> str:
        return self.artifacts or str((self.home / "artifacts").absolute())


def load_settings() -> Settings:
    """Read MODELYARD_* once; a value that does not parse is an error naming the variable."""
    from pydantic import ValidationError

    from modelyard.errors import InvalidInput

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "MODELYARD_" + "_".join(str(p) for p in first["loc"]).upper()
        raise InvalidInput(f"setting {field}: {first['msg']}") from None
