"""Import commands: models saved by other tools, registered without those tools."""

from __future__ import annotations

from pathlib import Path

import typer

from modelyard.cli.context import open_yard
from modelyard.cli.output import JsonOption, print_json, say

import_app = typer.Typer(
    help="Register models saved by other tools (MLflow), without installing them.",
    no_args_is_help=True,
)


@import_app.command("mlflow")
def import_mlflow(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="An MLflow model folder (the one with MLmodel)."),
    name: str | None = typer.Option(
        None, "--name", "-n", help="Model name [default: the folder's name]."
    ),
    alias: list[str] | None = typer.Option(
        None, "--alias", help="Point this alias at the new version; repeatable."
    ),
    description: str = typer.Option("", help="Free text."),
    trust_types: bool = typer.Option(
        False,
        "--trust-types",
        help="Accept types beyond the skops allow-list in a skops file; each is named in the "
        "audit log.",
    ),
    trust_pickle: bool = typer.Option(
        False,
        "--trust-pickle",
        help="Allow a pickle/cloudpickle model file (runs code on load; recorded in the audit "
        "log).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Register an MLflow model folder: its model (sklearn, xgboost, lightgbm, onnx),
    signature and input example (the sample), and, inside a local mlruns/ folder, its
    run's params, metrics and tags."""
    version = open_yard(ctx).import_mlflow(
        path,
        name,
        aliases=alias or [],
        description=description,
        trust_types=trust_types,
        trust_pickle=trust_pickle,
    )
    if as_json:
        print_json(version)
        return
    run = f", run {version.run_id[:12]}" if version.run_id else ""
    aliases = f", aliases {', '.join(version.aliases)}" if version.aliases else ""
    say(
        f"imported {version.ref} ({version.flavor}, {len(version.signature['inputs'])} "
        f"features{run}{aliases})"
    )


def install(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
