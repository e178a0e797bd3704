"""``modelyard abtest start|report|stop``: two versions, one sticky split, one metric."""

from __future__ import annotations

from typing import Any

import typer

from modelyard.cli.context import open_yard
from modelyard.cli.output import JsonOption, print_json, say, table

abtest_app = typer.Typer(
    help="A/B tests: split callers between two versions by a sticky key and compare a metric.",
    no_args_is_help=True,
)


@abtest_app.command("start")
def abtest_start(
    ctx: typer.Context,
    endpoint: str = typer.Argument(..., help="Endpoint whose callers are split."),
    a: str = typer.Option(..., "--a", help="Arm A (the control), e.g. churn@production."),
    b: str = typer.Option(..., "--b", help="Arm B (the challenger), e.g. churn@4."),
    split: float = typer.Option(50.0, "--split", help="Percent of callers sent to B."),
    sticky_key: str | None = typer.Option(
        None, "--sticky-key", help="Payload field (or X-Routing-Key header) that pins a caller."
    ),
    metric: str = typer.Option(
        "accuracy",
        "--metric",
        help="accuracy, error_rate, mae, squared_error (need feedback); positive_rate, "
        "prediction (do not).",
    ),
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)."),
) -> None:
    """Split ENDPOINT's callers between A and B until `abtest stop`."""
    test = open_yard(ctx).start_abtest(
        endpoint, a, b, split=split, metric=metric, sticky_key=sticky_key, reason=reason
    )
    pinned = f", pinned by {test.sticky_key}" if test.sticky_key else ""
    say(
        f"A/B test {test.id} on {endpoint}: A {test.a} {100 - test.split:g}% / "
        f"B {test.b} {test.split:g}%{pinned}; metric {test.metric}"
    )


@abtest_app.command("report")
def abtest_report(
    ctx: typer.Context,
    endpoint: str = typer.Argument(..., help="Endpoint."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level (0 < alpha < 1)."),
    as_json: bool = JsonOption,
) -> None:
    """Per arm: sample size, metric with confidence interval; the test and its p-value."""
    report = open_yard(ctx).abtest_report(endpoint, alpha=alpha)
    if as_json:
        print_json(report)
        return
    _print(report)


@abtest_app.command("stop")
def abtest_stop(
    ctx: typer.Context,
    endpoint: str = typer.Argument(..., help="Endpoint."),
    promote: bool = typer.Option(
        False, "--promote", help="If B wins significantly, move arm A's alias to B."
    ),
    alias: str | None = typer.Option(
        None, "--alias", help="Alias to move with --promote [default: arm A's alias]."
    ),
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)."),
    as_json: bool = JsonOption,
) -> None:
    """End the test: routes go back to what they were; the final report is kept."""
    report = open_yard(ctx).stop_abtest(endpoint, promote=promote, alias=alias, reason=reason)
    if as_json:
        print_json(report)
        return
    _print(report)
    moved = report.get("promoted")
    if moved:
        say(f"{moved['alias']} → {moved['to']}")
    elif promote:
        say("no significant winner B: nothing promoted")


def _print(report: dict[str, Any]) -> None:
    def cell(value: Any) -> str:
        return "—" if value is None else f"{value:.4g}"

    def interval(ci: list[Any] | None) -> str:
        return "—" if not ci else f"[{cell(ci[0])}, {cell(ci[1])}]"

    table(
        f"A/B test {report['abtest']} on {report['endpoint']} ({report['state']}): "
        f"{report['metric']}",
        ["arm", "version", "n", report["metric"], f"{report['confidence']:.0%} CI"],
        [
            [arm.upper(), stats["version"], stats["n"], cell(stats["mean"]), interval(stats["ci"])]
            for arm, stats in report["arms"].items()
        ],
    )
    difference = report["difference"]
    say(
        f"B − A: {cell(difference['estimate'])} {interval(difference['ci'])}; "
        f"{report['test'] or 'no test'}: p = {cell(report['p_value'])}"
        + (f" → winner {report['winner'].upper()}" if report.get("winner") else " → no winner")
    )
    for warning in report.get("warnings", []):
        say(f"warning: {warning}")


def install(app: typer.Typer) -> None:
    app.add_typer(abtest_app, name="abtest")
