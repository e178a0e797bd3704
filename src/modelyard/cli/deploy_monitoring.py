"""``deploy monitoring OUT``: Prometheus rules (with their promtool unit tests), a scrape
config, Grafana dashboards and provisioning, written into a folder."""

from __future__ import annotations

from pathlib import Path

import typer

from modelyard.cli.context import parse_pairs
from modelyard.cli.output import say


def monitoring(
    out: Path = typer.Argument(..., help="Folder to write (refused if it exists, unless --force)."),
    force: bool = typer.Option(False, "--force", help="Replace OUT if it exists."),
    target: list[str] = typer.Option(
        ["modelyard:8000"], "--target", help="host:port Prometheus scrapes (repeatable)."
    ),
    p95_seconds: float = typer.Option(0.25, "--p95-seconds", help="Latency budget (p95)."),
    error_ratio: float = typer.Option(0.05, "--error-ratio", help="5xx share that alerts."),
    refused_ratio: float = typer.Option(
        0.01,
        "--refused-ratio",
        help="Share of requests refused by admission (503: the queued work would miss their "
        "deadline) that alerts.",
    ),
    quality_floor: list[str] = typer.Option(
        ["accuracy=0.8"], "--quality-floor", help="METRIC=FLOOR for live quality (repeatable)."
    ),
    job: str = typer.Option("modelyard", "--job", help="Prometheus job name of the servers."),
) -> None:
    """Write Prometheus rules and tests, a scrape config and Grafana dashboards."""
    from modelyard.deploy.files import write_folder
    from modelyard.deploy.observability import observability_files
    from modelyard.deploy.rules import AlertThresholds
    from modelyard.errors import InvalidInput

    floors = []
    for metric, value in parse_pairs(quality_floor, "quality-floor").items():
        try:
            floors.append((metric, float(value)))
        except ValueError:
            raise InvalidInput(
                f"--quality-floor {metric}={value}: FLOOR must be a number"
            ) from None
    if p95_seconds <= 0:
        raise InvalidInput(f"--p95-seconds must be above 0, got {p95_seconds:g}")
    for name, share in (("error-ratio", error_ratio), ("refused-ratio", refused_ratio)):
        if not 0 < share < 1:
            raise InvalidInput(f"--{name} must be between 0 and 1, got {share:g}")
    thresholds = AlertThresholds(
        job=job,
        error_ratio=error_ratio,
        latency_p95_seconds=p95_seconds,
        refused_ratio=refused_ratio,
        quality_floors=tuple(floors),
    )
    for name in write_folder(out, observability_files(thresholds, targets=target), force=force):
        say(str(out / name))


def install(deploy_app: typer.Typer) -> None:
    deploy_app.command("monitoring")(monitoring)
