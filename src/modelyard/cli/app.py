"""The root command, global options and the one table from errors to exit codes."""

from __future__ import annotations

import importlib
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from modelyard.cli.context import Options, collection_paused
from modelyard.cli.output import errors, whole_lines_when_piped

# The module whose install() adds each top-level command (tests/cli/test_app.py checks it
# against what they add). A command is built, and its module imported, when it is run;
# --help, completion and the docs build them all, in the order they always had.
MODULE_OF = {
    **dict.fromkeys(("models", "alias", "register", "rollback", "archive"), "models"),
    **dict.fromkeys(("lineage", "audit", "profile"), "models"),
    "import": "imports",
    "runs": "runs",
    "data": "data",
    **dict.fromkeys(("gc", "backup", "restore", "demo"), "admin"),
    **dict.fromkeys(("endpoint", "keys", "serve"), "serving"),
    "predict": "batch",
    "drift": "drift",
    **dict.fromkeys(("monitor", "feedback"), "monitor"),
    "promote": "gate",
    **dict.fromkeys(("rollout", "policy", "controller"), "control"),
    "abtest": "abtest",
    "deploy": "deploy",
    "loadtest": "loadtest",
}
INSTALL_ORDER: tuple[str, ...] = ("models", "imports", "runs", "data", "admin", "serving")
INSTALL_ORDER += ("batch", "drift", "monitor", "gate", "control", "abtest", "loadtest", "deploy")

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
    """Builds a command only when it is asked for (building all of them, with the modules
    they live in, was a fifth of a read command's start-up), and turns modelyard's own
    errors into one line on stderr and an exit code, no traceback."""

    _complete = False
    _built: MutableMapping[str, Any]

    @property
    def commands(self) -> MutableMapping[str, Any]:
        if not self._complete:
            self._built = dict(_build(INSTALL_ORDER).commands)
            self._complete = True
        return self._built

    @commands.setter
    def commands(self, value: MutableMapping[str, Any]) -> None:
        self._built = value

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        module = MODULE_OF.get(cmd_name)
        if self._complete or module is None:
            return self.commands.get(cmd_name)
        if cmd_name not in self._built:
            with collection_paused():
                group = _build((module,), only=cmd_name)
            self._built[cmd_name] = group.commands[cmd_name]
        return self._built[cmd_name]

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


def _build(modules: tuple[str, ...], only: str | None = None) -> Any:
    """The commands ``modules`` install (or just the one called ``only``), built as the
    root builds its own: with plain help and Typer's default exception settings."""
    holder = typer.Typer(rich_markup_mode=None)
    for module in modules:
        importlib.import_module(f"modelyard.cli.{module}").install(holder)
    if only is not None:
        holder.registered_commands = [c for c in holder.registered_commands if c.name == only]
        holder.registered_groups = [g for g in holder.registered_groups if g.name == only]
    _plain_help(holder)
    return typer.main.get_group(holder)


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
