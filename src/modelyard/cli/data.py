"""Dataset commands: data add | list | show | get."""

from __future__ import annotations

from pathlib import Path

import typer

from modelyard.cli.context import open_yard
from modelyard.cli.output import JsonOption, print_json, say, table, when

data_app = typer.Typer(help="Versioned, content-addressed data files.", no_args_is_help=True)


@data_app.command("add")
def add(
    ctx: typer.Context,
    file: Path,
    name: str = typer.Option(..., "--name", "-n"),
    description: str = typer.Option("", help="Free text."),
    as_json: bool = JsonOption,
) -> None:
    """Store a CSV/Parquet/JSON-lines file as the next version of a dataset."""
    dataset = open_yard(ctx).add_dataset(file, name, description=description)
    if as_json:
        print_json(dataset)
        return
    say(f"{dataset.ref}: {dataset.rows} rows, {dataset.size} bytes, sha256 {dataset.sha256[:16]}…")


@data_app.command("list")
def list_datasets(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """Every dataset version."""
    found = open_yard(ctx).list_datasets()
    if as_json:
        print_json([{k: v for k, v in _summary(d).items()} for d in found])
        return
    table(
        "datasets",
        ["dataset", "rows", "bytes", "format", "sha256", "source", "added"],
        [
            [d.ref, d.rows, d.size, d.format, d.sha256[:16] + "…", d.source, when(d.created_at)]
            for d in found
        ],
    )


@data_app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME or NAME@V"),
    as_json: bool = JsonOption,
) -> None:
    """One dataset version: schema and per-column summary."""
    dataset = open_yard(ctx).get_dataset(ref)
    if as_json:
        print_json(dataset)
        return
    say(f"{dataset.ref}: {dataset.rows} rows, {dataset.size} bytes, sha256 {dataset.sha256}")
    rows = []
    for column in dataset.schema["columns"]:
        stats = dataset.profile.get(column["name"], {})
        summary = (
            f"mean {stats.get('mean', float('nan')):.4g}, std {stats.get('std', float('nan')):.4g}"
            if stats.get("type") == "numeric"
            else f"{len(stats.get('frequencies', {}))} categories"
        )
        rows.append(
            [column["name"], column["kind"], column["nullable"], stats.get("missing"), summary]
        )
    table("columns", ["column", "kind", "nullable", "missing", "summary"], rows)


@data_app.command("get")
def get(
    ctx: typer.Context,
    ref: str,
    out: Path = typer.Option(..., "--out", "-o", help="File or folder to write to."),
) -> None:
    """Write a dataset version's bytes (verified) to a file."""
    path = open_yard(ctx).export_dataset(ref, out)
    say(f"wrote {path}")


def _summary(dataset: object) -> dict[str, object]:
    from modelyard.domain.jsonable import plain

    data = plain(dataset)
    assert isinstance(data, dict)
    data.pop("profile", None)
    return data


def install(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
