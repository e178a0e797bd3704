"""The root command, global options and the one table from errors to exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from modelyard.cli import (
    abtest,
    admin,
    batch,
    control,
    data,
    deploy_monitoring,
    gate,
    imports,
    models,
    monitor,
    runs,
    serving,
)
from modelyard.cli.context import Options
from modelyard.cli.output import errors, whole_lines_when_piped

# Exit codes by error kind: scripts can tell "not there" from "refused" from "broken".
EXIT_CODES = {
    "invalid": 2,
    "schema": 2,
    "unsupported": 2,
    "not_found": 3,
    "conflict": 4,
    "already_exists": 4,
    "untrusted": 5,
    "integrity": 6,
    "unavailable": 7,
}


class _Group(TyperGroup):
    """Turns modelyard's own errors into one line on stderr and an exit code, no traceback."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click; its Context type is private
        from modelyard.errors import YardError

        try:
            return super().invoke(ctx)
        except YardError as exc:
            _fail(str(exc), EXIT_CODES.get(exc.code, 1))
        except OSError as exc:  # the user's files: permissions, full disk, a folder for a file
            _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), 2)
        except KeyboardInterrupt:
            errors.print("interrupted")
            raise SystemExit(130) from None


def _fail(message: str, code: int) -> None:
    from rich.markup import escape

    one_line = " ".join(message.split())
    errors.print(f"[red]error:[/red] {escape(one_line)}", soft_wrap=True)
    raise SystemExit(code) from None


app = typer.Typer(
    cls=_Group,
    help="modelyard: register → validate → serve → observe → decide → act.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"modelyard {version('modelyard')}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None, "--home", help="Folder of the embedded yard [default: MODELYARD_HOME or .modelyard]."
    ),
    db_url: str | None = typer.Option(
        None, "--db-url", help="Database URL [default: MODELYARD_DB_URL or SQLite in the home]."
    ),
    artifacts: str | None = typer.Option(
        None,
        "--artifacts",
        help="Artifact store URL [default: MODELYARD_ARTIFACTS or <home>/artifacts].",
    ),
    actor: str | None = typer.Option(
        None, "--actor", help="Who the audit log names [default: MODELYARD_ACTOR or the OS user]."
    ),
    _version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the installed version and exit.",
    ),
) -> None:
    whole_lines_when_piped()
    ctx.obj = Options(home=home, db_url=db_url, artifacts=artifacts, actor=actor)


models.install(app)
imports.install(app)
runs.install(app)
data.install(app)
admin.install(app)
serving.install(app)
batch.install(app)
monitor.install(app)
gate.install(app)
control.install(app)
abtest.install(app)
# `deploy` (containers, compose, Kubernetes) grows beside `deploy monitoring`.
deploy_app = typer.Typer(help="Generate what a platform runs modelyard with.", no_args_is_help=True)
deploy_monitoring.install(deploy_app)
app.add_typer(deploy_app, name="deploy")


def _plain_help(group: typer.Typer) -> None:
    """Help as click prints it: flags shown as flags (no `<bool>`), text wrapped, never cut.

    Rich's help boxes type every option and cut long lines with "…" when piped; plain
    help reads the same in a terminal, in a pager and in a file.
    """
    group.rich_markup_mode = None
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _plain_help(sub.typer_instance)


_plain_help(app)


def main() -> None:
    app(prog_name="modelyard")
