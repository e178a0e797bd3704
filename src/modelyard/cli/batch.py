"""``modelyard predict``: score a file in chunks (the batch integration style)."""

from __future__ import annotations

from pathlib import Path

import typer

from modelyard.cli.context import open_yard
from modelyard.cli.output import JsonOption, print_json, progress_rows, say


def predict(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Model reference, e.g. churn@production."),
    input: Path = typer.Option(..., "--input", "-i", help="Rows to score (.parquet or .csv)."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write (.parquet/.csv)."),
    id_column: str | None = typer.Option(None, help="Copy this input column to the output."),
    on_error: str = typer.Option("fail", help="Bad rows: 'fail' stops, 'skip' reports them."),
    chunk_rows: int = typer.Option(50_000, help="Rows per chunk (bounds memory)."),
    as_json: bool = JsonOption,
) -> None:
    """Score a file with a registered model, streaming in chunks."""
    from modelyard.batch.local import score_file

    predictor = open_yard(ctx).load(model)
    with progress_rows(f"scoring with {predictor.ref}") as progress:
        report = score_file(
            predictor,
            input,
            output,
            id_column=id_column,
            on_error=on_error,
            chunk_rows=chunk_rows,
            progress=progress,
        )
    if as_json:
        print_json(report)
        return
    say(
        f"wrote {report.rows_out} predictions to {output} ({report.rows_in} rows read, "
        f"{report.skipped} skipped)"
    )
    for problem in report.problems[:10]:
        say(f"  row {problem['row']}: {problem['feature']}: {problem['rule']}")
    if len(report.problems) > 10:
        say(f"  … {len(report.problems) - 10} more problems (--json lists up to 1000)")


def install(app: typer.Typer) -> None:
    app.command("predict")(predict)
