"""Tracking commands: runs list | show | compare."""

from __future__ import annotations

import typer
from rich.text import Text

from modelyard.cli.context import open_yard
from modelyard.cli.output import JsonOption, print_json, say, short_metrics, table, when

runs_app = typer.Typer(help="Training runs: params, metrics, artifacts.", no_args_is_help=True)


@runs_app.command("list")
def list_runs(
    ctx: typer.Context,
    experiment: str | None = typer.Option(None, help="Only this experiment."),
    limit: int = typer.Option(50, help="How many, newest first."),
    as_json: bool = JsonOption,
) -> None:
    """Recent runs, newest first."""
    found = open_yard(ctx).list_runs(experiment, limit)
    if as_json:
        print_json(found)
        return
    table(
        "runs",
        ["id", "experiment", "name", "status", "started", "metrics"],
        [
            [
                r.id[:12],
                r.experiment,
                r.name or "—",
                r.status.value,
                when(r.started_at),
                short_metrics(r.metrics),
            ]
            for r in found
        ],
    )


@runs_app.command("show")
def show_run(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="Id or unique prefix."),
    as_json: bool = JsonOption,
) -> None:
    """One run: status, params, latest metrics, artifacts."""
    run = open_yard(ctx).get_run(run_id)
    if as_json:
        print_json(run)
        return
    git = run.provenance.get("git", {})
    table(
        f"run {run.id}",
        ["field", "value"],
        [
            ["experiment", run.experiment],
            ["name", run.name or "—"],
            ["status", run.status.value],
            ["started", when(run.started_at)],
            ["ended", when(run.ended_at)],
            ["commit", str(git.get("commit") or "—")],
            ["error", run.error or "—"],
        ],
    )
    table("params", ["key", "value"], [[k, v] for k, v in sorted(run.params.items())])
    table("metrics (latest)", ["key", "value"], [[k, v] for k, v in sorted(run.metrics.items())])
    imported = run.provenance.get("mlflow", {}).get("tags")
    if imported:  # a run imported with an MLflow model (`import mlflow`) keeps its tags
        table("tags (from MLflow)", ["key", "value"], [[k, v] for k, v in sorted(imported.items())])
    if run.files:
        table(
            "artifacts",
            ["name", "sha256", "bytes"],
            [[f.name, f.sha256[:16] + "…", f.size] for f in run.files],
        )


@runs_app.command("compare")
def compare(ctx: typer.Context, first: str, second: str, as_json: bool = JsonOption) -> None:
    """Params and metrics of two runs side by side; differences highlighted."""
    yard = open_yard(ctx)
    a, b = yard.get_run(first), yard.get_run(second)
    rows: list[dict[str, object]] = []
    for kind, left, right in (("param", a.params, b.params), ("metric", a.metrics, b.metrics)):
        for key in sorted(set(left) | set(right)):
            rows.append(
                {
                    "kind": kind,
                    "key": key,
                    "a": left.get(key),
                    "b": right.get(key),
                    "differs": left.get(key) != right.get(key),
                }
            )
    if as_json:
        print_json({"a": a.id, "b": b.id, "rows": rows})
        return
    table(
        f"{a.id[:12]} vs {b.id[:12]}",
        ["", "key", a.id[:12], b.id[:12]],
        [
            [
                r["kind"],
                r["key"],
                _cell(r["a"], bool(r["differs"])),
                _cell(r["b"], bool(r["differs"])),
            ]
            for r in rows
        ],
    )
    changed = sum(1 for r in rows if r["differs"])
    say(f"{changed} of {len(rows)} differ")


def _cell(value: object, differs: bool) -> Text:
    shown = "—" if value is None else (f"{value:.6g}" if isinstance(value, float) else str(value))
    return Text(shown, style="bold yellow" if differs else "")


def install(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
