"""``modelyard promote``: the promotion gate, then the alias move."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from modelyard.cli.context import open_yard
from modelyard.cli.output import JsonOption, print_json, say, table

if TYPE_CHECKING:
    from modelyard.validation.gate import GateReport, GateSettings


def promote(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Model name."),
    version: int = typer.Argument(..., help="Candidate version."),
    alias: str = typer.Option("production", "--to", help="Alias to move when the gate passes."),
    holdout: Path | None = typer.Option(
        None, "--holdout", help="Labelled data (Parquet/CSV) for data and metric checks."
    ),
    label: str = typer.Option("label", "--label", help="Label column of the holdout."),
    tolerance: float = typer.Option(
        0.01, help="Accuracy points lost (or share of RMSE gained) still allowed."
    ),
    latency_p95_ms: float = typer.Option(100.0, help="Budget for one-row predictions, p95 ms."),
    force: bool = typer.Option(False, "--force", help="Move the alias even if a check fails."),
    reason: str = typer.Option("", "--reason", help="Why (required with --force; audited)."),
    expect: int | None = typer.Option(
        None,
        "--expect",
        help="Promote only if the alias still points at this version (0: only if unset); "
        "checked before the gate, refusals audited.",
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Only run the gate and report; move nothing, audit nothing (a CI gate before "
        "a canary rollout, which moves the alias itself when it finishes).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Check NAME@VERSION against the current holder of the alias; move it only on a pass.

    Exit codes: 0 promoted (with --check: passed), 1 the gate failed (nothing moved),
    2 bad input, 4 the alias moved (--expect, or meanwhile).
    """
    from modelyard.errors import InvalidInput
    from modelyard.validation.gate import GateSettings

    settings = GateSettings(tolerance=tolerance, latency_p95_ms=latency_p95_ms)
    if check:
        if force or expect is not None:
            raise InvalidInput("--check moves nothing: it takes neither --force nor --expect")
        _check(ctx, name, version, alias, holdout, label, settings, as_json)
        return
    result = open_yard(ctx).promote(
        name,
        version,
        alias,
        holdout=holdout,
        label=label if holdout is not None else None,
        settings=settings,
        force=force,
        reason=reason,
        expect=expect,
    )
    report = result.report
    if as_json:
        print_json({**report.to_json(), "moved": result.moved, "forced": result.forced})
    else:
        _report_table(report, alias)
        if result.moved is not None:
            forced = " (forced past a failed gate)" if result.forced else ""
            say(f"{name}@{alias} → {version}{forced}")
        else:
            say(f"gate failed: {name}@{alias} not moved")
    raise typer.Exit(0 if result.moved is not None else 1)


def _check(
    ctx: typer.Context,
    name: str,
    version: int,
    alias: str,
    holdout: Path | None,
    label: str,
    settings: GateSettings,
    as_json: bool,
) -> None:
    report = open_yard(ctx).check_promotion(
        name,
        version,
        alias,
        holdout=holdout,
        label=label if holdout is not None else None,
        settings=settings,
    )
    if as_json:
        print_json(report.to_json())
    else:
        _report_table(report, alias)
        say(f"gate {'passed' if report.passed else 'failed'}: nothing moved (--check)")
    raise typer.Exit(0 if report.passed else 1)


def _report_table(report: GateReport, alias: str) -> None:
    table(
        f"gate: {report.candidate} for {alias}"
        + (f" (champion {report.champion})" if report.champion else ""),
        ["check", "result", "detail"],
        [[c.name, "pass" if c.passed else "FAIL", c.detail] for c in report.checks],
    )


def install(app: typer.Typer) -> None:
    app.command("promote")(promote)
