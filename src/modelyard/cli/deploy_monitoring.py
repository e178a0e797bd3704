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
    estimated_floor: list[str] = typer.Option(
        ["accuracy=0.8"],
        "--estimated-floor",
        help="METRIC=FLOOR for quality estimated without labels (accuracy, precision, recall, "
        "f1, roc_auc; repeatable).",
    ),
    estimated_minutes: int = typer.Option(
        30,
        "--estimated-minutes",
        min=1,
        max=1440,
        help="Minutes the estimate stays below its floor before it alerts.",
    ),
    data_quality_share: float = typer.Option(
        0.1,
        "--data-quality-share",
        help="Share of a feature's values missing, out of range or unseen that alerts.",
    ),
    segment_floor: list[str] = typer.Option(
        ["accuracy=0.7"],
        "--segment-floor",
        help="METRIC=FLOOR for a segment's quality (accuracy, f1, estimated_accuracy, "
        "estimated_f1; repeatable).",
    ),
    segment_min_rows: int = typer.Option(
        100, "--segment-min-rows", min=1, help="Rows a segment needs before its floor alerts."
    ),
    job: str = typer.Option("modelyard", "--job", help="Prometheus job name of the servers."),
) -> None:
    """Write Prometheus rules and tests, a scrape config and Grafana dashboards."""
    from modelyard.deploy.files import write_folder
    from modelyard.deploy.observability import observability_files
    from modelyard.deploy.rules import AlertThresholds
    from modelyard.errors import InvalidInput

    floors = _floors(quality_floor, "quality-floor", None)
    estimated = _floors(estimated_floor, "estimated-floor", ESTIMATED_FLOORED)
    segment = _floors(segment_floor, "segment-floor", SEGMENT_FLOORED)
    if p95_seconds <= 0:
        raise InvalidInput(f"--p95-seconds must be above 0, got {p95_seconds:g}")
    shares = (
        ("error-ratio", error_ratio),
        ("refused-ratio", refused_ratio),
        ("data-quality-share", data_quality_share),
    )
    for name, share in shares:
        if not 0 < share < 1:
            raise InvalidInput(f"--{name} must be between 0 and 1, got {share:g}")
    thresholds = AlertThresholds(
        job=job,
        error_ratio=error_ratio,
        latency_p95_seconds=p95_seconds,
        refused_ratio=refused_ratio,
        quality_floors=floors,
        estimated_floors=estimated,
        estimated_minutes=estimated_minutes,
        data_quality_share=data_quality_share,
        segment_floors=segment,
        segment_min_rows=segment_min_rows,
    )
    for name in write_folder(out, observability_files(thresholds, targets=target), force=force):
        say(str(out / name))


# Floors only make sense where higher is better: the estimate's classification metrics
# (monitoring/estimate), the segment gauges' accuracy and F1 (monitoring/segment_gauges.py).
ESTIMATED_FLOORED = ("accuracy", "precision", "recall", "f1", "roc_auc")
SEGMENT_FLOORED = ("accuracy", "f1", "estimated_accuracy", "estimated_f1")


def _floors(
    pairs: list[str], option: str, allowed: tuple[str, ...] | None
) -> tuple[tuple[str, float], ...]:
    from modelyard.errors import InvalidInput

    floors = []
    for metric, value in parse_pairs(pairs, option).items():
        if allowed is not None and metric not in allowed:
            raise InvalidInput(
                f"--{option} {metric}={value}: METRIC must be one of {', '.join(allowed)}"
            )
        try:
            floor = float(value)
        except ValueError:
            raise InvalidInput(f"--{option} {metric}={value}: FLOOR must be a number") from None
        if allowed is not None and not 0 < floor <= 1:
            raise InvalidInput(f"--{option} {metric}={value}: FLOOR must be in (0, 1]")
        floors.append((metric, floor))
    return tuple(floors)


def install(deploy_app: typer.Typer) -> None:
    deploy_app.command("monitoring")(monitoring)
