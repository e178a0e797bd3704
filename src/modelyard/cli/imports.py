"""Import commands: models saved by other tools, registered without those tools."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from modelyard.cli.context import open_yard
from modelyard.cli.output import JsonOption, errors, print_json, say
from modelyard.domain.monitoring import NO_REFERENCE

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
    import warnings

    from modelyard.errors import NoReferenceWarning

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always", NoReferenceWarning)
        version = open_yard(ctx).import_mlflow(
            path,
            name,
            aliases=alias or [],
            description=description,
            trust_types=trust_types,
            trust_pickle=trust_pickle,
        )
    for other in (w for w in said if not issubclass(w.category, NoReferenceWarning)):
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    if as_json:
        print_json(version)
    else:
        run = f", run {version.run_id[:12]}" if version.run_id else ""
        aliases = f", aliases {', '.join(version.aliases)}" if version.aliases else ""
        features = len(version.signature["inputs"])
        say(f"imported {version.ref} ({version.flavor}, {features} features{run}{aliases})")
    if any(issubclass(w.category, NoReferenceWarning) for w in said):
        # on stderr in one line (--json output stays one document), like `register`
        errors.print(
            Text(f"warning: {version.ref}: {NO_REFERENCE} (the MLflow model has no input example)"),
            soft_wrap=True,
        )


def install(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
