"""The root command builds a command when it is run; the table that says where each one
lives must name every command, in the module that installs it."""

from __future__ import annotations

import importlib
import subprocess
import sys

import typer

from modelyard.cli.app import INSTALL_ORDER, MODULE_OF


def test_every_command_is_found_in_the_module_that_installs_it() -> None:
    installed: dict[str, str] = {}
    for module in INSTALL_ORDER:
        holder = typer.Typer()
        importlib.import_module(f"modelyard.cli.{module}").install(holder)
        names = [c.name for c in holder.registered_commands]
        names += [g.name for g in holder.registered_groups]
        installed.update(dict.fromkeys((n for n in names if n is not None), module))
    assert installed == MODULE_OF


def test_running_a_command_imports_only_its_own_module() -> None:
    code = (
        "import sys\n"
        "sys.argv = ['modelyard', 'models', 'list', '--help']\n"
        "from modelyard.cli.app import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('modelyard.cli.')), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = done.stderr.strip().splitlines()[-1]
    assert "'modelyard.cli.models'" in loaded
    for other in set(INSTALL_ORDER) - {"models"}:
        assert f"'modelyard.cli.{other}'" not in loaded, loaded
