"""``modelyard predict``: score a file in chunks (the batch integration style)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from modelyard.cli.context import open_yard
from modelyard.cli.engines import (
    ConnectSecondsOption,
    EngineOption,
    SchedulerOption,
    WorkersOption,
    check_engine,
)
from modelyard.cli.output import JsonOption, print_json, progress_rows, say

if TYPE_CHECKING:
    from modelyard.batch.scoring import BatchReport


def predict(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Model reference, e.g. churn@production."),
    input: str = typer.Option(
        ...,
        "--input",
        "-i",
        help="Rows to score (.parquet or .csv). The dask engine also takes a URL, a glob "
        "or a folder: 's3://bucket/rows/*.parquet'.",
    ),
    output: str = typer.Option(
        ...,
        "--output",
        "-o",
        help="Where to write (.parquet/.csv); the dask engine writes a folder of Parquet "
        "files (a path or a URL such as s3://bucket/scored/).",
    ),
    id_column: str | None = typer.Option(None, help="Copy this input column to the output."),
    on_error: str = typer.Option("fail", help="Bad rows: 'fail' stops, 'skip' reports them."),
    chunk_rows: int = typer.Option(50_000, help="Rows per chunk (bounds memory)."),
    engine: str = EngineOption,
    scheduler: str | None = SchedulerOption,
    workers: int = WorkersOption,
    connect_seconds: float = ConnectSecondsOption,
    partition_rows: int = typer.Option(
        1_000_000, help="Dask: most rows per task and output file (whole Parquet row groups)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Score rows with a registered model: in chunks here, or partition by partition on a
    Dask cluster."""
    from modelyard.errors import InvalidInput

    check_engine(engine)
    if engine == "local" and (scheduler is not None or "://" in input or "://" in output):
        raise InvalidInput("the local engine reads and writes local files; use --engine dask")
    yard = open_yard(ctx)
    if engine == "dask":
        from modelyard.batch.on_dask import score_dataset

        with progress_rows(f"scoring with {model} on dask") as progress:
            report = score_dataset(
                yard,
                model,
                input,
                output,
                id_column=id_column,
                on_error=on_error,
                chunk_rows=chunk_rows,
                partition_rows=partition_rows,
                scheduler=scheduler,
                workers=workers,
                connect_seconds=connect_seconds,
                progress=progress,
            )
    else:
        from modelyard.batch.local import score_file

        predictor = yard.load(model)
        with progress_rows(f"scoring with {predictor.ref}") as progress:
            report = score_file(
                predictor,
                Path(input),
                Path(output),
                id_column=id_column,
                on_error=on_error,
                chunk_rows=chunk_rows,
                progress=progress,
            )
    _tell(report, output, as_json)


def _tell(report: BatchReport, output: str, as_json: bool) -> None:
    if as_json:
        print_json(report)
        return
    say(
        f"wrote {report.rows_out} predictions to {output} ({report.rows_in} rows read, "
        f"{report.skipped} skipped)"
    )
    for problem in report.problems[:10]:
        where = f"{problem['file']} " if "file" in problem else ""
        say(f"  {where}row {problem['row']}: {problem['feature']}: {problem['rule']}")
    if len(report.problems) > 10:
        say(f"  … {len(report.problems) - 10} more problems (--json lists up to 1000)")


def install(app: typer.Typer) -> None:
    app.command("predict")(predict)
