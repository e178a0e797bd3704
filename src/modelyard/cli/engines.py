"""The options of the commands that run here or on a Dask cluster (``predict``, ``drift``),
declared once so both commands spell and check them alike."""

from __future__ import annotations

import typer

ENGINES = ("local", "dask")

EngineOption = typer.Option(
    "local", help="'local' (this process) or 'dask' (a Dask cluster; modelyard[dask])."
)
SchedulerOption = typer.Option(
    None, help="Dask scheduler address, e.g. tcp://host:8786 [default: a LocalCluster here]."
)
WorkersOption = typer.Option(2, help="Dask: worker processes of the LocalCluster.")
ConnectSecondsOption = typer.Option(
    10.0, help="Dask: how long to try reaching --scheduler before giving up."
)


def check_engine(engine: str) -> None:
    """Refuse an unknown ``--engine`` in one line."""
    if engine not in ENGINES:
        from modelyard.errors import InvalidInput

        raise InvalidInput(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
