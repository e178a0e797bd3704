"""Yard maintenance: gc, backup, restore, and the demo scenario."""

from __future__ import annotations

from pathlib import Path

import typer

from modelyard.cli.context import open_yard
from modelyard.cli.output import JsonOption, print_json, progress_bar, say


def gc(
    ctx: typer.Context,
    apply: bool = typer.Option(False, "--apply", help="Delete; without it, only report."),
    grace_seconds: float | None = typer.Option(
        None,
        help="Reservations older than this are taken as left by dead writers (default "
        "MODELYARD_GC_GRACE_SECONDS, 3600).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Find blobs no row references and temp files of dead writers (dry run by default)."""
    report = open_yard(ctx).gc(dry_run=not apply, grace_seconds=grace_seconds)
    if as_json:
        print_json(report)
        return
    verb = "removed" if apply else "would remove"
    say(
        f"{verb} {len(report.orphan_blobs)} unreferenced blobs and "
        f"{len(report.temp_files)} temp files of dead writers ({report.bytes} bytes); "
        f"kept {report.reserved} blobs reserved by writers in flight; "
        f"{'dropped' if apply else 'would drop'} {report.stale_reservations} reservations "
        "older than the grace period"
    )
    if not apply and (report.orphan_blobs or report.temp_files):
        say("run again with --apply to delete them")


def backup(
    ctx: typer.Context, file: Path = typer.Argument(..., help="Archive to write (.tar.gz).")
) -> None:
    """Write a consistent snapshot of the database and every referenced artifact."""
    yard = open_yard(ctx)
    with progress_bar("copying blobs") as progress:
        report = yard.backup(file, progress)
    say(
        f"wrote {report.path}: {sum(report.rows.values())} rows, {report.blobs} "
        f"blobs, {report.bytes} bytes"
    )


def restore(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Archive from `modelyard backup`."),
    trust_types: bool = typer.Option(
        False, "--trust-types", help="Accept versions that trust types beyond the skops allow-list."
    ),
    trust_pickle: bool = typer.Option(
        False, "--trust-pickle", help="Accept versions stored as pickles."
    ),
    trust_keys: bool = typer.Option(
        False,
        "--trust-keys",
        help="Bring in the archive's API keys as they are (its secrets stay valid).",
    ),
    reissue_keys: bool = typer.Option(
        False,
        "--reissue-keys",
        help="Bring in the archive's API keys with new secrets, printed once (the archive's "
        "secrets are not valid).",
    ),
    trust_commands: bool = typer.Option(
        False,
        "--trust-commands",
        help="Bring in policies with run: actions (the controller runs them).",
    ),
    trust_webhooks: bool = typer.Option(
        False,
        "--trust-webhooks",
        help="Bring in policies with alert: actions and rollouts' alert URLs.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Restore a backup into an empty yard, verifying every hash.

    The archive is outside data: keys, policies that run commands or call webhooks, and
    rollouts' webhooks are left out and listed unless a flag brings them in."""
    yard = open_yard(ctx)
    with progress_bar("restoring blobs") as progress:
        report = yard.restore(
            file,
            trust_types=trust_types,
            trust_pickle=trust_pickle,
            trust_keys=trust_keys,
            reissue_keys=reissue_keys,
            trust_commands=trust_commands,
            trust_webhooks=trust_webhooks,
            progress=progress,
        )
    if as_json:
        print_json(report.to_json())
        return
    say(f"restored {sum(report.rows.values())} rows and {report.blobs} blobs from {report.path}")
    if report.brought_in:
        say("brought in by flags:")
        for item in report.brought_in:
            say(f"  {item.flag}: {item.row} ({item.what})")
    if report.left_out:
        say("left out (restore into an empty home with the flag to bring it in):")
        for item in report.left_out:
            say(f"  {item.row} ({item.what}): needs {item.flag}")
    if report.reissued:
        say("re-issued keys (new secrets, shown once; the archive's secrets are not valid):")
        for key in report.reissued:
            scope = ",".join(key.scopes) + (f" on {key.endpoint}" if key.endpoint else "")
            say(f"  key {key.id} (scopes {scope}):")
            say(f"    {key.secret}")


def demo(
    home: Path = typer.Option(
        Path(".modelyard-demo"), help="Fresh yard folder for the demo (replaced if it exists)."
    ),
    offline: bool = typer.Option(
        False, "--offline", help="Stop after registering (no server, traffic, canary, policy)."
    ),
    exit_when_done: bool = typer.Option(
        False,
        "--exit-when-done",
        help="Stop after the last chapter instead of serving; exit 1 if one did not happen.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """The whole loop on the embedded default: track two runs, register, pass the gate,
    serve, watch, roll v2 out by canary, shift the data until a policy rolls back and alerts."""
    from modelyard.cli.demo import run_demo

    summary = run_demo(home, quiet=as_json, live=not offline, keep_serving=not exit_when_done)
    if as_json:
        print_json(summary)
    live = summary.get("live")
    if exit_when_done and live is not None and not live["complete"]:
        from modelyard.errors import ModelFailed

        if as_json:
            raise typer.Exit(1)
        missing = [c["title"] for c in live["chapters"] if not c["done"]]
        raise ModelFailed(f"demo: these chapters did not happen: {', '.join(missing)}")


def install(app: typer.Typer) -> None:
    app.command("gc")(gc)
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.command("demo")(demo)
