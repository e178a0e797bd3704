"""Serving commands: endpoint create|list|show|delete, keys create|list|revoke, serve."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from modelyard.cli.context import Options, open_yard
from modelyard.cli.output import JsonOption, print_json, say, table, when

if TYPE_CHECKING:
    from modelyard.domain.endpoints import Route

endpoint_app = typer.Typer(help="Served names bound to model references.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (stored hashed) with scopes.", no_args_is_help=True)


@endpoint_app.command("create")
def endpoint_create(
    ctx: typer.Context,
    name: str,
    model: str = typer.Option(..., "--model", "-m", help="Model reference, e.g. churn@production."),
    max_batch: int = typer.Option(
        1024,
        help="Most rows of queued requests merged into one model call (also at most about "
        "20 ms of model time).",
    ),
    max_wait_ms: float = typer.Option(
        5.0,
        help="Longest a batch keeps gathering requests that are still arriving, from when "
        "its call could first start (a quiet moment ends it sooner; a lone request runs at "
        "once).",
    ),
    queue_rows: int = typer.Option(
        1024, help="Rows a shadow of it may have waiting; past it, copies are skipped."
    ),
    timeout_ms: float = typer.Option(
        30_000.0,
        help="Per-request deadline: 503 at once if the queued work cannot meet it, 504 past it.",
    ),
    max_request_rows: int | None = typer.Option(
        None, help="Most rows in one request; past it: 413. Default: no cap but the body size."
    ),
    segment_by: list[str] = typer.Option(
        [],
        "--segment-by",
        help="Monitor quality, estimates and drift per value of this input feature "
        "(repeatable, at most 4).",
    ),
    segment_top: int = typer.Option(
        20,
        help="Categories kept per segmenting feature (by reference frequency); the rest "
        "are 'other'. Numeric features are split at their reference quartiles.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Create an endpoint serving MODEL under NAME."""
    from modelyard.domain.endpoints import Limits

    limits = Limits(max_batch, max_wait_ms, queue_rows, timeout_ms, max_request_rows)
    endpoint = open_yard(ctx).create_endpoint(
        name, model, limits=limits, segment_by=segment_by, segment_top=segment_top
    )
    if as_json:
        print_json(endpoint)
        return
    say(f"endpoint {endpoint.name} → {endpoint.primary.model}")


@endpoint_app.command("routes")
def endpoint_routes(
    ctx: typer.Context,
    name: str,
    route: list[str] = typer.Option(
        ..., "--route", "-r", help="REF=WEIGHT, e.g. churn@production=90 (repeat; sum 100)."
    ),
    shadow: list[str] | None = typer.Option(
        None,
        "--shadow",
        help="REF or REF=PERCENT: mirror answered requests to it, off the response path, "
        "and compare (repeat, at most 3; omit to stop shadowing).",
    ),
    sticky_key: str | None = typer.Option(
        None, "--sticky-key", help="Payload field (or X-Routing-Key header) that pins callers."
    ),
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)."),
    as_json: bool = JsonOption,
) -> None:
    """Split NAME's traffic between versions; the first route is the primary. Shadows get
    a copy of answered requests; their answers are logged and compared, never returned."""
    from modelyard.domain.endpoints import Route
    from modelyard.errors import InvalidInput

    routes = []
    for index, item in enumerate(route):
        ref, sep, weight = item.rpartition("=")
        try:
            value = float(weight)
        except ValueError:
            value = -1.0
        if not sep or not ref or value < 0:
            raise InvalidInput(f"--route {item!r}: expected REF=WEIGHT, e.g. churn@4=10")
        routes.append(Route(ref, value, "primary" if index == 0 else "canary"))
    routes += [_shadow_route(item) for item in shadow or []]
    endpoint = open_yard(ctx).set_routes(name, routes, sticky_key=sticky_key, reason=reason)
    if as_json:
        print_json(endpoint)
        return
    split = ", ".join(f"{r.model} {r.weight:g}%" for r in endpoint.serving_routes)
    sticky = f", sticky by {endpoint.sticky_key}" if endpoint.sticky_key else ""
    mirrored = "".join(
        f", shadow {r.model}" + (f" ({r.weight:g}% mirrored)" if r.weight < 100 else "")
        for r in endpoint.shadows
    )
    say(f"endpoint {endpoint.name}: {split}{sticky}{mirrored}")


def _shadow_route(item: str) -> Route:
    """``churn@5`` (every answered request mirrored) or ``churn@5=25`` (a quarter)."""
    from modelyard.domain.endpoints import Route
    from modelyard.errors import InvalidInput

    ref, sep, share = item.partition("=")
    value = 100.0
    if sep:
        try:
            value = float(share)
        except ValueError:
            value = -1.0
        if not 0 <= value <= 100:
            raise InvalidInput(f"--shadow {item!r}: expected REF or REF=PERCENT (0 to 100)")
    return Route(ref, value, "shadow")


@endpoint_app.command("list")
def endpoint_list(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """Every endpoint and the model reference it serves."""
    found = open_yard(ctx).list_endpoints()
    if as_json:
        print_json(found)
        return
    table(
        "endpoints",
        ["name", "routes", "max batch", "queue rows", "updated"],
        [
            [
                e.name,
                ", ".join(f"{r.model} ({r.role} {r.weight:g}%)" for r in e.routes),
                e.limits.max_batch,
                e.limits.queue_rows,
                when(e.updated_at),
            ]
            for e in found
        ],
    )


@endpoint_app.command("show")
def endpoint_show(ctx: typer.Context, name: str, as_json: bool = JsonOption) -> None:
    """One endpoint: routes, limits, what they resolve to, and what each server serves."""
    yard = open_yard(ctx)
    endpoint = yard.get_endpoint(name)
    resolved = {r.model: yard.get_version(r.model).ref for r in endpoint.routes}
    replicas = yard.serving_status(name)
    if as_json:
        print_json({"endpoint": endpoint, "resolves_to": resolved, "replicas": replicas})
        return
    table(
        f"endpoint {name}",
        ["route", "role", "weight", "resolves to"],
        [[r.model, r.role, r.weight, resolved[r.model]] for r in endpoint.routes],
    )
    limits = endpoint.limits
    say(
        f"max batch {limits.max_batch}, max wait {limits.max_wait_ms:g} ms, queue "
        f"{limits.queue_rows} rows (shadows), "
        f"{limits.max_request_rows or 'any number of'} rows per request, timeout "
        f"{limits.timeout_ms:g} ms"
    )
    if replicas:
        table(
            "servers",
            ["replica", "serving", "load error", "reported"],
            [[r.replica, r.version or "—", r.error or "—", when(r.updated_at)] for r in replicas],
        )


@endpoint_app.command("delete")
def endpoint_delete(
    ctx: typer.Context, name: str, reason: str = typer.Option("", help="Why, for the audit log.")
) -> None:
    """Delete an endpoint (servers stop serving it within the poll interval)."""
    open_yard(ctx).delete_endpoint(name, reason=reason)
    say(f"deleted endpoint {name}")


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    scope: list[str] = typer.Option(..., help="predict, read, write or admin; repeatable."),
    endpoint: str | None = typer.Option(None, help="Limit the key to one endpoint."),
    description: str = typer.Option("", help="Who or what the key is for."),
    rate_limit: float | None = typer.Option(
        None,
        help="Requests per second per server process; past it: 429 with Retry-After. "
        "0: no limit. Default: MODELYARD_KEY_RATE_LIMIT.",
    ),
    rate_burst: int | None = typer.Option(
        None, help="Requests the key may send at once (needs --rate-limit; default: 1 s worth)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Create a key; its secret is printed once and never stored."""
    key, secret = open_yard(ctx).create_key(
        scope,
        endpoint=endpoint,
        description=description,
        rate_limit=rate_limit,
        rate_burst=rate_burst,
    )
    if as_json:
        print_json({"key": key, "secret": secret})
        return
    rate = "" if key.rate_limit is None else f", {key.rate_limit:g} requests/s"
    say(
        f"key {key.id} ({', '.join(key.scopes)}"
        f"{', endpoint ' + key.endpoint if key.endpoint else ''}{rate}); the secret, shown once:"
    )
    say(secret)


@keys_app.command("list")
def keys_list(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """Every key (never the secrets)."""
    found = open_yard(ctx).list_keys()
    if as_json:
        print_json(found)
        return
    table(
        "API keys",
        ["id", "scopes", "endpoint", "rate limit", "description", "created", "revoked"],
        [
            [
                k.id,
                ", ".join(k.scopes),
                k.endpoint or "all",
                _rate(k.rate_limit, k.rate_burst),
                k.description or "—",
                when(k.created_at),
                when(k.revoked_at),
            ]
            for k in found
        ],
    )


def _rate(rate: float | None, burst: int | None) -> str:
    if rate is None:
        return "default"
    if rate == 0:
        return "none"
    return f"{rate:g}/s" + (f" (burst {burst})" if burst else "")


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: str) -> None:
    """Revoke a key by id (servers refuse it within a few seconds)."""
    open_yard(ctx).revoke_key(key_id)
    say(f"revoked key {key_id}")


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes sharing the port."),
    grpc_port: int | None = typer.Option(
        None,
        help="Also serve the Open Inference Protocol v2 over gRPC on this port (same "
        "address, keys, endpoints and monitoring as HTTP).",
    ),
    dev: bool = typer.Option(False, "--dev", help="No API keys (loopback addresses only)."),
    no_controller: bool = typer.Option(
        False,
        "--no-controller",
        help="Do not run the controller here (rollouts, policies); run `modelyard controller`.",
    ),
) -> None:
    """Serve every endpoint over HTTP (simple JSON, Open Inference Protocol v2, /metrics),
    and over v2 gRPC with --grpc-port, the admin API and the web console at /ui, with the
    controller that advances rollouts and acts on policies (one acts fleet-wide)."""
    from modelyard.config import load_settings
    from modelyard.serving.server import serve as run

    options = ctx.find_root().obj if isinstance(ctx.find_root().obj, Options) else Options()
    overrides = {
        k: v
        for k, v in {
            "home": options.home,
            "db_url": options.db_url,
            "artifacts": options.artifacts,
            "actor": options.actor,
            "dev": dev or None,
            "controller": False if no_controller else None,
            "grpc_port": grpc_port,
        }.items()
        if v is not None
    }
    settings = load_settings().model_copy(update=overrides)
    yard = open_yard(ctx)  # migrate and check the stores once, before any worker starts
    yard.stores.artifacts.check(settings.store_timeout_seconds * 2)
    yard.close()
    run(settings, host, port, workers)


def install(app: typer.Typer) -> None:
    app.add_typer(endpoint_app, name="endpoint")
    app.add_typer(keys_app, name="keys")
    app.command("serve")(serve)
