"""``modelyard loadtest``: drive an endpoint with its reference rows and judge a budget.

The rows are the served version's reference sample, read from the yard the server reads
(the same ``--home``/``--db-url``/``--artifacts``): the admin API serves no sample rows, and
should not, since they are training data. Locust (the ``loadtest`` extra) sends them; it is
imported only here, inside the command, because importing it patches the interpreter.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import typer

from modelyard.cli.context import open_yard
from modelyard.cli.output import JsonOption, print_json, say, table
from modelyard.errors import YardError

if TYPE_CHECKING:
    from modelyard.cli.locust_run import Measured

PREDICT_PATH = "/v1/endpoints/{name}/predict"
PREFLIGHT_TIMEOUT_SECONDS = 5.0
MAX_BODIES = 1000  # distinct rows cycled through; the reference sample is capped anyway
PERCENTILES = (50, 90, 95, 99)
INSTALL_HINT = "pip install 'modelyard[loadtest]'"


class ServerUnreachable(YardError):
    """Nothing answers at the server's address (exit code 7, like a store that is down)."""

    code = "unavailable"


def loadtest(
    ctx: typer.Context,
    target: str = typer.Argument(
        ...,
        metavar="ENDPOINT",
        help="Endpoint name (served at --url), or its predict URL, e.g. "
        "http://127.0.0.1:8000/v1/endpoints/churn-api/predict.",
    ),
    url: str = typer.Option(
        "http://127.0.0.1:8000", "--url", help="Server that serves the endpoint named."
    ),
    users: int = typer.Option(64, "--users", help="Callers sending at once, each back to back."),
    duration: str = typer.Option("30s", "--duration", help="How long: 30s, 2m, 1h."),
    p95_ms: float | None = typer.Option(
        None, "--p95-ms", help="Budget: 95th percentile latency, ms (no budget: just measure)."
    ),
    max_error_rate: float | None = typer.Option(
        None, "--max-error-rate", help="Budget: share of requests not answered 2xx (0 … 1)."
    ),
    key: str | None = typer.Option(
        None,
        "--key",
        envvar="MODELYARD_API_KEY",
        help="API key with the predict scope (not needed by a `serve --dev` server).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Send ENDPOINT rows of its served version's reference sample from many callers for a
    while, print the latency distribution, and judge it against the budget.

    Exit codes: 0 within budget, 1 budget broken, 2 bad input (or Locust not installed),
    3 unknown endpoint, 7 no server answering.
    """
    from modelyard.errors import InvalidInput

    seconds = _seconds(duration)
    if not 1 <= users <= 10_000:
        raise InvalidInput(f"--users {users}: must be from 1 to 10000")
    if p95_ms is not None and not p95_ms > 0:
        raise InvalidInput(f"--p95-ms {p95_ms:g}: must be above 0")
    if max_error_rate is not None and not 0 <= max_error_rate <= 1:
        raise InvalidInput(f"--max-error-rate {max_error_rate:g}: must be from 0 to 1")
    if importlib.util.find_spec("locust") is None:
        raise InvalidInput(f"the load test drives Locust, which is not installed: {INSTALL_HINT}")
    base, name = _locate(target, url)
    bodies = _bodies(ctx, name)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    path = PREDICT_PATH.format(name=name)
    _preflight(base, path, bodies[0], headers, name)

    from modelyard.cli import locust_run  # patches the interpreter with gevent from here on

    measured = locust_run.run(base, path, bodies, headers, users, seconds)
    broken = _broken(measured, p95_ms, max_error_rate)
    _report(name, base, users, measured, as_json, broken)
    if broken:
        say("budget broken: " + "; ".join(broken))
        raise typer.Exit(1)


def _seconds(duration: str) -> float:
    from modelyard.domain.monitoring import parse_period
    from modelyard.errors import InvalidInput

    try:
        return parse_period(duration).total_seconds()
    except InvalidInput:
        raise InvalidInput(
            f"--duration {duration!r}: expected a whole number and a unit s, m or h (e.g. 30s)"
        ) from None


def _locate(target: str, url: str) -> tuple[str, str]:
    """(server base URL, endpoint name) from a name and --url, or from a predict URL."""
    from modelyard.domain.names import check_name
    from modelyard.errors import InvalidInput

    if "://" not in target:
        base = url
        name = target
    else:
        parts = urlsplit(target)
        segments = parts.path.strip("/").split("/")
        if len(segments) != 4 or segments[:2] != ["v1", "endpoints"] or segments[3] != "predict":
            raise InvalidInput(
                f"{target!r}: expected an endpoint name or a URL ending in "
                "/v1/endpoints/NAME/predict"
            )
        base = f"{parts.scheme}://{parts.netloc}"
        name = segments[2]
    scheme = urlsplit(base)
    if scheme.scheme not in ("http", "https") or not scheme.netloc:
        raise InvalidInput(f"--url {base!r}: expected http://HOST:PORT or https://HOST:PORT")
    return base.rstrip("/"), check_name(name, "endpoint")


def _bodies(ctx: typer.Context, name: str) -> list[str]:
    """One-row request bodies from the reference sample of the version the endpoint's
    primary route serves."""
    import io

    import orjson
    import pandas as pd

    from modelyard.errors import InvalidInput
    from modelyard.store.version_rows import REFERENCE_FILE

    yard = open_yard(ctx)
    version = yard.get_version(yard.get_endpoint(name).primary.model)
    try:
        stored = version.file(REFERENCE_FILE)
    except KeyError:
        raise InvalidInput(
            f"{version.ref} was registered without sample rows: nothing to send "
            "(give `register` a --sample, or `profile set` one)"
        ) from None
    data = yard.stores.artifacts.get_bytes(stored.sha256, f"{version.ref} {REFERENCE_FILE}")
    frame = pd.read_parquet(io.BytesIO(data)).head(MAX_BODIES)
    if frame.empty:
        raise InvalidInput(f"{version.ref}'s reference sample has no rows: nothing to send")
    records = orjson.loads(frame.to_json(orient="records", date_format="iso"))
    return [orjson.dumps({"instances": [row]}).decode() for row in records]


def _preflight(base: str, path: str, body: str, headers: dict[str, str], name: str) -> None:
    """One request before the load, so a server that is down, an endpoint it does not
    serve or a refused key is one line within seconds, not a run of failures."""
    import httpx

    from modelyard.errors import InvalidInput, NotFound

    try:
        answer = httpx.post(
            base + path,
            content=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=PREFLIGHT_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise ServerUnreachable(
            f"no server answers at {base}: {exc or type(exc).__name__}"
        ) from None
    if answer.status_code == 404:
        raise NotFound(f"the server at {base} does not serve endpoint {name!r}")
    if answer.status_code in (401, 403):
        raise InvalidInput(
            f"the server at {base} refused the request ({answer.status_code}): "
            "give an API key with the predict scope (--key or MODELYARD_API_KEY)"
        )


def _percentiles(measured: Measured) -> dict[int, float]:
    import numpy as np

    if not measured.times_ms:
        return {}
    values = np.percentile(np.asarray(measured.times_ms), PERCENTILES)
    return {p: float(v) for p, v in zip(PERCENTILES, values, strict=True)}


def _error_rate(measured: Measured) -> float:
    return sum(measured.errors.values()) / measured.requests if measured.requests else 1.0


def _broken(measured: Measured, p95_ms: float | None, max_error_rate: float | None) -> list[str]:
    """Each budget the run broke, in words naming its flag."""
    broken = []
    if measured.requests == 0:
        broken.append("no request was answered")
    p95 = _percentiles(measured).get(95)
    if p95_ms is not None and p95 is not None and p95 > p95_ms:
        broken.append(f"p95 {p95:.3g} ms > {p95_ms:g} ms (--p95-ms)")
    rate = _error_rate(measured)
    if max_error_rate is not None and measured.requests and rate > max_error_rate:
        broken.append(f"error rate {rate:.3g} > {max_error_rate:g} (--max-error-rate)")
    return broken


def _report(
    name: str, base: str, users: int, measured: Measured, as_json: bool, broken: list[str]
) -> None:
    percentiles = _percentiles(measured)
    if as_json:
        print_json(
            {
                "endpoint": name,
                "url": base,
                "users": users,
                "seconds": round(measured.seconds, 3),
                "requests": measured.requests,
                "requests_per_second": measured.requests_per_second,
                "latency_ms": {f"p{p}": v for p, v in percentiles.items()},
                "errors": {str(s): n for s, n in measured.errors.items()},
                "error_rate": _error_rate(measured),
                "budget_broken": broken,
            }
        )
        return
    table(
        f"load test: {name} at {base}, {users} users, {measured.seconds:.1f} s",
        ["requests", "req/s", *(f"p{p} ms" for p in PERCENTILES), "error rate"],
        [
            [
                measured.requests,
                f"{measured.requests_per_second:.1f}",
                *(f"{percentiles[p]:.2f}" if p in percentiles else "—" for p in PERCENTILES),
                f"{_error_rate(measured):.4f}",
            ]
        ],
    )
    if measured.errors:
        table(
            "errors by status (0: no answer)",
            ["status", "requests"],
            [[s, n] for s, n in measured.errors.items()],
        )


def install(app: typer.Typer) -> None:
    app.command("loadtest")(loadtest)
