"""``modelyard drift``: the offline drift gate for CI, two tables (or a stored reference
profile and a table) compared feature by feature; exit 1 when the dataset drifted."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from modelyard.cli.context import open_yard, parse_pairs
from modelyard.cli.engines import (
    ConnectSecondsOption,
    EngineOption,
    SchedulerOption,
    WorkersOption,
    check_engine,
)
from modelyard.cli.output import JsonOption, print_json, say, table
from modelyard.formatting import brief

if TYPE_CHECKING:
    from modelyard.domain.monitor_results import DriftReport


def drift(
    ctx: typer.Context,
    reference: str = typer.Option(
        ...,
        "--reference",
        "-r",
        metavar="SOURCE",
        help="Reference data: a Parquet/CSV/JSONL file, a folder of them, a glob or an "
        "s3:// URL; or a stored profile: MODEL@VERSION|ALIAS or dataset:NAME[@V].",
    ),
    current: str = typer.Option(
        ...,
        "--current",
        "-c",
        metavar="SOURCE",
        help="Current data: a file, a folder, a glob or an s3:// URL.",
    ),
    exact: bool = typer.Option(
        False,
        "--exact",
        help="KS and Wasserstein from raw samples (scipy) instead of bins; small data only.",
    ),
    columns: str | None = typer.Option(
        None, "--columns", help="Comma-separated columns to compare [default: all]."
    ),
    drift_share: float = typer.Option(
        0.5, "--drift-share", help="Share of drifted columns that makes the dataset drift."
    ),
    numeric_test: str = typer.Option(
        "wasserstein", help="Effect size judging numeric columns on large samples."
    ),
    categorical_test: str = typer.Option(
        "jensenshannon", help="Effect size judging categorical columns on large samples."
    ),
    threshold: list[str] | None = typer.Option(
        None, "--threshold", help="TEST=VALUE, e.g. psi=0.25 (repeatable)."
    ),
    min_rows: int = typer.Option(100, help="Below this many current rows: no verdict."),
    bins: int = typer.Option(100, help="Quantile bins per numeric column (2 … 1000)."),
    engine: str = EngineOption,
    scheduler: str | None = SchedulerOption,
    workers: int = WorkersOption,
    connect_seconds: float = ConnectSecondsOption,
    part_rows: int = typer.Option(
        1_000_000, help="Most rows per part (whole Parquet row groups; a CSV file is one)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Compare CURRENT with REFERENCE column by column; exit 1 when the dataset drifted.

    Both sides are streamed batch by batch (memory holds a batch and the per-column bins,
    not the table), part by part here or on Dask workers, with the same report. Exit codes:
    0 no drift (or not enough data), 1 drift, 2 bad input, 3 a stored reference not found,
    7 the Dask scheduler unreachable.
    """
    from modelyard.domain.monitoring import DriftConfig
    from modelyard.errors import InvalidInput
    from modelyard.monitoring.tables import open_table

    if not 2 <= bins <= 1000:
        raise InvalidInput(f"--bins {bins}: must be from 2 to 1000")
    check_engine(engine)
    if engine == "local" and scheduler is not None:
        raise InvalidInput("--scheduler needs --engine dask")
    if part_rows < 1:
        raise InvalidInput(f"--part-rows {part_rows}: must be at least 1")
    config = DriftConfig(
        numeric_test=numeric_test,
        categorical_test=categorical_test,
        thresholds=parse_thresholds(threshold),
        min_rows=min_rows,
        drift_share=drift_share,
    )
    wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    stored = _stored_profile(ctx, reference)
    cur_table = open_table(current)
    ref_side = stored if stored is not None else open_table(reference)
    options: dict[str, Any] = {
        "exact": exact,
        "bins": bins,
        "columns": wanted,
        "reference_label": reference,
        "part_rows": part_rows,
    }
    if engine == "dask":
        if exact:
            raise InvalidInput("--exact loads raw samples in this process; use --engine local")
        from modelyard.monitoring.on_dask import dask_engine

        with dask_engine(scheduler, workers, connect_seconds) as on_dask:
            report = _drift(ref_side, cur_table, config, engine=on_dask, **options)
    else:
        report = _drift(ref_side, cur_table, config, **options)
    if as_json:
        print_json(report.to_json())
    else:
        _drift_table(report, f"drift of {_label(current)} against {_label(reference)}")
    raise typer.Exit(1 if report.drifted else 0)


def _drift(*args: Any, **options: Any) -> DriftReport:
    from modelyard.monitoring.streaming import drift_tables

    return drift_tables(*args, **options)


def _label(location: str) -> str:
    return Path(location).name if "://" not in location else location


def _stored_profile(ctx: typer.Context, reference: str) -> dict[str, Any] | None:
    """A stored reference profile's features when REFERENCE names one (``dataset:NAME[@V]``,
    or ``MODEL@V|ALIAS`` that is no file), else None: the yard is opened only then."""
    if reference.startswith("dataset:"):
        features: dict[str, Any] = open_yard(ctx).get_dataset(reference.split(":", 1)[1]).profile
        return features
    if "@" not in reference or "/" in reference or "://" in reference or Path(reference).exists():
        return None
    from modelyard.errors import InvalidInput

    profile = open_yard(ctx).profile(reference)
    if not profile or not profile.get("features"):
        raise InvalidInput(
            f"{reference} has no reference profile; set one with `modelyard profile set`"
        )
    stored: dict[str, Any] = profile["features"]
    return stored


def _drift_table(report: DriftReport, title: str) -> None:
    rows = []
    for item in sorted(report.features, key=lambda f: not f.drifted):
        values = item.values
        rows.append(
            [
                item.feature,
                item.kind,
                item.current_rows,
                brief(values.get("psi")),
                brief(values.get("jensenshannon")),
                brief(values.get("ks")),
                brief(values.get("wasserstein")),
                brief(values.get("ks_p_value", values.get("chi2_p_value"))),
                f"{item.test} {'<' if item.test.endswith('p_value') else '≥'} {item.threshold:g}",
                item.verdict,
            ]
        )
    table(
        title,
        ["feature", "kind", "rows", "PSI", "JS", "KS", "W/σ", "p-value", "drift when", "verdict"],
        rows,
    )
    say(
        f"dataset: {report.verdict} — {len(report.drifted_features)} of "
        f"{len(report.features)} features drifted (share {brief(report.drift_share)}, "
        f"threshold {report.config.drift_share:g})"
    )


def parse_thresholds(pairs: list[str] | None) -> dict[str, float]:
    """``--threshold TEST=VALUE`` pairs (drift and monitor configure)."""
    from modelyard.errors import InvalidInput

    out: dict[str, float] = {}
    for test, value in parse_pairs(pairs, "threshold").items():
        try:
            out[test] = float(value)
        except ValueError:
            raise InvalidInput(f"--threshold {test}={value}: the value must be a number") from None
    return out


def install(app: typer.Typer) -> None:
    app.command("drift")(drift)
