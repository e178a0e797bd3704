"""Observe: ``monitor status|report|configure|prune|compact`` and ``feedback import``
(the offline ``drift`` gate is cli/drift.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from modelyard.cli.context import collection_paused, open_yard
from modelyard.cli.drift import parse_thresholds
from modelyard.cli.estimates import estimate_table
from modelyard.cli.output import JsonOption, console, print_json, progress_bar, say, table
from modelyard.cli.quality_tables import class_tables, data_quality_table
from modelyard.cli.segments import segment_table
from modelyard.formatting import brief, pct

if TYPE_CHECKING:
    from modelyard.domain.monitor_results import (
        Feedback,
        Quality,
        ShadowMonitor,
        VersionMonitor,
    )

monitor_app = typer.Typer(
    help="Traffic, latency, drift and quality of served endpoints.", no_args_is_help=True
)
feedback_app = typer.Typer(help="Ground truth for earlier predictions.", no_args_is_help=True)

FEEDBACK_CHUNK = 1000
SHOWN_UNKNOWN = 5


@monitor_app.command("status")
def status(
    ctx: typer.Context,
    endpoint: str,
    since: str = typer.Option("1h", "--since", help="Period: 90s, 15m, 1h, 7d …"),
    by: str | None = typer.Option(
        None, "--by", help="Also list this segmenting feature's segments, worst first."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Per version: traffic, latency percentiles, refused (4xx) and server errors (5xx),
    drift, quality, feedback coverage."""
    with collection_paused():  # the summary's imports include the yard's whole stack
        from modelyard.domain.monitoring import parse_period
        from modelyard.monitoring.summary import summarize_recent

    yard = open_yard(ctx)
    summary = summarize_recent(
        yard.monitor,
        endpoint,
        parse_period(since),
        max_labeled=yard.settings.quality_max_rows,
        bucket_seconds=yard.settings.monitor_bucket_seconds,
    )
    if by is not None:
        from modelyard.monitoring.segment_summary import by_feature

        split_by = yard.get_endpoint(endpoint).monitoring.segments.features
        summary = by_feature(summary, by, split_by)
    if as_json:
        print_json(summary.to_json())
        return
    versions = summary.versions
    if not versions:
        say(f"{endpoint}: no traffic recorded in the last {since}")
        _shadow_table(endpoint, since, summary.shadows)
        return
    rows = []
    for v in versions:
        latency = v.latency_ms
        rows.append(
            [
                v.version,
                v.requests,
                v.rows,
                " / ".join(brief(p) for p in (latency.p50, latency.p95, latency.p99)),
                pct(v.error_rate),
                pct(v.client_error_rate),
                pct(v.drift_share) + ("*" if v.drift_unavailable else ""),
                ", ".join(v.top_drifted) or "—",
                _quality_text(v.quality),
                _feedback_text(v.feedback),
            ]
        )
    table(
        f"{endpoint}, last {since}",
        [
            "version",
            "requests",
            "rows",
            "p50/p95/p99 ms",
            "5xx (server errors)",
            "4xx (refused)",
            "drift share",
            "top drifted",
            "quality",
            "ground truth",
        ],
        rows,
    )
    _why_no_drift(versions)
    estimate_table(endpoint, since, versions)
    data_quality_table(endpoint, since, versions)
    class_tables(endpoint, since, versions)
    if by is not None:
        segment_table(endpoint, since, by, versions)
    _shadow_table(endpoint, since, summary.shadows)


def _feedback_text(feedback: Feedback) -> str:
    """How much of the traffic has its ground truth yet, and how late it arrives."""
    coverage = feedback.coverage
    if coverage is None:
        return "—"
    if not feedback.labeled:
        return "coverage 0 %: no rows labelled yet"
    return (
        f"coverage {pct(coverage)} ({feedback.labeled:,} of {feedback.logged:,} rows), "
        f"median lag {brief(feedback.lag_seconds_p50)} s"
    )


def _why_no_drift(versions: Sequence[VersionMonitor]) -> None:
    """A footnote per version whose drift share is "—*": a dash alone reads as a bug."""
    from modelyard.cli.models import NO_REFERENCE_FIX
    from modelyard.domain.monitoring import NO_REFERENCE

    for v in versions:
        reason = v.drift_unavailable
        if reason:
            say(f"* {v.version}: {NO_REFERENCE_FIX if reason == NO_REFERENCE else reason}")


def _shadow_table(endpoint: str, since: str, shadows: Sequence[ShadowMonitor]) -> None:
    """Each shadow against each version that answered the requests it was sent."""
    rows = []
    for shadow in shadows:
        for c in shadow.compared:
            mirrored, answered = c.shadow_latency_ms, c.primary_latency_ms
            rows.append(
                [
                    shadow.version,
                    c.primary,
                    c.rows,
                    brief(c.agreement_rate),
                    brief(c.mean_abs_diff),
                    brief(c.mean_proba_abs_diff),
                    f"{brief(mirrored.p50)} / {brief(mirrored.p95)}",
                    f"{brief(answered.p50)} / {brief(answered.p95)}",
                    c.errors,
                    c.skipped,
                ]
            )
    if not rows:
        return
    table(
        f"{endpoint} shadows, last {since} (answers never returned to callers)",
        [
            "shadow",
            "compared with",
            "rows",
            "agreement",
            "mean |Δ|",
            "mean |Δ| proba",
            "shadow p50/p95 ms",
            "primary p50/p95 ms",
            "errors",
            "skipped",
        ],
        rows,
    )


def _quality_text(quality: Quality) -> str:
    shown = [
        f"{name} {brief(value)}"
        for name in ("accuracy", "f1", "roc_auc", "mae", "rmse", "r2")
        if (value := quality.metric(name)) is not None
    ]
    return ", ".join(shown) or "—"


@monitor_app.command("report")
def report(
    ctx: typer.Context,
    endpoint: str,
    since: str = typer.Option("1h", "--since", help="Period: 90s, 15m, 1h, 7d …"),
    fmt: str = typer.Option("html", "--format", help="html (self-contained) or json."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="File to write [default: <endpoint>-report.<format>]."
    ),
) -> None:
    """Write a report: reference-vs-current histograms, drift table, quality and latency."""
    from modelyard.domain.monitoring import parse_period
    from modelyard.errors import InvalidInput
    from modelyard.monitoring.report import render_html, render_json
    from modelyard.monitoring.summary import summarize_recent

    if fmt not in ("html", "json"):
        raise InvalidInput(f"--format {fmt!r}: use html or json")
    period = parse_period(since)
    yard = open_yard(ctx)
    summary = summarize_recent(
        yard.monitor,
        endpoint,
        period,
        max_labeled=yard.settings.quality_max_rows,
        histograms=True,
        bucket_seconds=yard.settings.monitor_bucket_seconds,
    )
    text = render_html(summary) if fmt == "html" else render_json(summary)
    target = out or Path(f"{endpoint}-report.{fmt}")
    target.write_text(text, encoding="utf-8")
    say(f"wrote {target} ({target.stat().st_size / 1024:,.0f} KiB)")


@monitor_app.command("configure")
def configure(
    ctx: typer.Context,
    endpoint: str,
    log_inputs: float | None = typer.Option(
        None, "--log-inputs", help="Share of rows whose raw inputs are stored (0 … 1)."
    ),
    numeric_test: str | None = typer.Option(
        None, help="wasserstein, psi, ks or jensenshannon (large samples)."
    ),
    categorical_test: str | None = typer.Option(
        None, help="jensenshannon, psi or chi2 (large samples)."
    ),
    threshold: list[str] | None = typer.Option(
        None, "--threshold", help="TEST=VALUE, e.g. psi=0.25 (repeatable)."
    ),
    drift_share: float | None = typer.Option(None, help="Share of drifted features = drift."),
    min_rows: int | None = typer.Option(None, help="Below this many rows: no verdict."),
    large_rows: int | None = typer.Option(
        None, help="Above this many rows effect sizes judge, below p-values."
    ),
    p_value: float | None = typer.Option(None, help="Significance level of the p-value tests."),
    segment_by: list[str] | None = typer.Option(
        None, "--segment-by", help="Split the monitor by this input feature (repeatable)."
    ),
    segment_top: int | None = typer.Option(
        None, help="Categories kept per segmenting feature; the rest are 'other'."
    ),
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)."),
    as_json: bool = JsonOption,
) -> None:
    """Change how ENDPOINT is monitored; settings not given keep their value."""
    import dataclasses

    from modelyard.domain.monitoring import DriftConfig, MonitorSpec
    from modelyard.domain.segments import SegmentSpec

    yard = open_yard(ctx)
    current = yard.get_endpoint(endpoint).monitoring
    changes: dict[str, Any] = {
        key: value
        for key, value in {
            "numeric_test": numeric_test,
            "categorical_test": categorical_test,
            "drift_share": drift_share,
            "min_rows": min_rows,
            "large_rows": large_rows,
            "p_value": p_value,
        }.items()
        if value is not None
    }
    if threshold:
        changes["thresholds"] = {**current.drift.thresholds, **parse_thresholds(threshold)}
    drift_config: DriftConfig = dataclasses.replace(current.drift, **changes)
    segments = current.segments
    if segment_by is not None or segment_top is not None:
        segments = SegmentSpec(
            tuple(segment_by) if segment_by is not None else segments.features,
            segment_top if segment_top is not None else segments.top,
        )
    spec = MonitorSpec(
        log_inputs=current.log_inputs if log_inputs is None else log_inputs,
        drift=drift_config,
        segments=segments,
    )
    updated = yard.configure_monitoring(endpoint, spec, reason=reason)
    if as_json:
        print_json(updated.monitoring)
        return
    d = updated.monitoring.drift
    say(
        f"{endpoint}: log_inputs {updated.monitoring.log_inputs:g}, numeric {d.numeric_test}, "
        f"categorical {d.categorical_test}, drift share {d.drift_share:g}, "
        f"min rows {d.min_rows}"
    )


@monitor_app.command("prune")
def prune(
    ctx: typer.Context,
    older_than: str = typer.Option(..., "--older-than", help="Age to keep, e.g. 30d."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would go; delete nothing."),
    as_json: bool = JsonOption,
) -> None:
    """Delete prediction rows, their feedback and monitor windows older than a period."""
    from modelyard.domain.monitoring import parse_period

    pruned = open_yard(ctx).prune_monitoring(parse_period(older_than), dry_run=dry_run)
    if as_json:
        print_json(pruned)
        return
    verb = "would delete" if dry_run else "deleted"
    say(
        f"{verb} {pruned.predictions} predictions, {pruned.feedback} feedback rows and "
        f"{pruned.windows} windows from before {pruned.cutoff:%Y-%m-%d %H:%M:%S} UTC"
    )


@monitor_app.command("compact")
def compact(
    ctx: typer.Context,
    older_than: str = typer.Option(
        "1d", "--older-than", help="Fold whole hours older than this (at least 1h)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Fold old monitor windows into hourly ones (the controller does this every hour;
    totals, drift and quality stay the same, old timelines get hourly points)."""
    from modelyard.domain.monitoring import parse_period

    done = open_yard(ctx).compact_monitoring(parse_period(older_than))
    if as_json:
        print_json(done)
        return
    say(f"folded {done.windows} windows into {done.rollups} hourly ones")
    for skipped in done.skipped:
        say(f"left {skipped} as it is: its version's profile is gone")


@feedback_app.command("import")
def feedback_import(
    ctx: typer.Context,
    path: Path,
    endpoint: str = typer.Option(..., "--endpoint", "-e", help="Endpoint that made them."),
    id_column: str = typer.Option("prediction_id", help="Column of prediction ids."),
    actual_column: str = typer.Option("actual", help="Column of actual outcomes."),
    as_json: bool = JsonOption,
) -> None:
    """Import labels from a CSV/Parquet file with prediction_id and actual columns."""
    from modelyard.domain.feedback import feedback_items
    from modelyard.errors import InvalidInput
    from modelyard.tabular import read_table

    frame = read_table(path)
    for column in (id_column, actual_column):
        if column not in frame.columns:
            raise InvalidInput(f"{path.name}: no column {column!r}")
    yard = open_yard(ctx)
    yard.get_endpoint(endpoint)
    ids = frame[id_column].astype(object).where(frame[id_column].notna(), None).tolist()
    actuals = frame[actual_column].astype(object).where(frame[actual_column].notna(), None)
    records = [
        {"prediction_id": str(pid) if pid is not None else None, "actual": _plain(value)}
        for pid, value in zip(ids, actuals.tolist(), strict=True)
    ]
    totals = {"accepted": 0, "updated": 0, "duplicates": 0}
    unknown: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    with progress_bar(f"importing {path.name}") as advance:
        for start in range(0, len(records), FEEDBACK_CHUNK):
            chunk = records[start : start + FEEDBACK_CHUNK]
            items, problems = feedback_items(chunk)
            result = yard.add_feedback(endpoint, [(i.prediction_id, i.actual) for i in items])
            totals["accepted"] += result.accepted
            totals["updated"] += result.updated
            totals["duplicates"] += result.duplicates
            unknown += [
                {"row": start + items[i].index + 1, "prediction_id": pid}
                for i, pid in result.unknown
            ]
            invalid += [
                {"row": start + p["index"] + 1, "field": p["field"], "rule": p["rule"]}
                for p in problems
            ]
            advance(min(start + FEEDBACK_CHUNK, len(records)), len(records))
    if as_json:
        print_json({**totals, "unknown": unknown, "invalid": invalid})
        return
    say(
        f"{totals['accepted']} accepted, {totals['updated']} updated, "
        f"{totals['duplicates']} duplicates, {len(unknown)} unknown ids, {len(invalid)} invalid"
    )
    for item in unknown[:SHOWN_UNKNOWN]:
        say(f"  row {item['row']}: unknown prediction id {item['prediction_id']!r}")
    for problem in invalid[:SHOWN_UNKNOWN]:
        say(f"  row {problem['row']}: {problem['field']} {problem['rule']}")
    if len(unknown) + len(invalid) > 2 * SHOWN_UNKNOWN:
        console.print("  … (--json lists them all)")


def _plain(value: Any) -> Any:
    """numpy scalars from the file → Python values the feedback check understands."""
    return value.item() if hasattr(value, "item") else value


def install(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
    app.add_typer(feedback_app, name="feedback")
