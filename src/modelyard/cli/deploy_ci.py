"""``modelyard deploy ci``: write CI pipelines that run modelyard's gates.

``ci`` is the command; cli/deploy.py's ``deploy`` group (container, compose, Kubernetes)
mounts it.
"""

from __future__ import annotations

from pathlib import Path

import typer

from modelyard.cli.output import say


def ci(
    out: Path = typer.Argument(
        ..., help="The repository's root folder (created if missing); files in it are kept."
    ),
    provider: list[str] = typer.Option(
        ["github", "gitlab"],
        "--provider",
        help="github (.github/workflows/modelyard.yml) or gitlab (.gitlab-ci.yml); repeat.",
    ),
    model: str = typer.Option(..., "--model", "-m", help="Model name the pipeline registers."),
    endpoint: str = typer.Option(
        ..., "--endpoint", "-e", help="Endpoint the canary rollout moves traffic on."
    ),
    train: str = typer.Option(
        "python train.py --out build",
        "--train",
        help="Your training command; it writes $MODEL_FILE, $SAMPLE_FILE, $HOLDOUT_FILE and "
        "$DRIFT_CURRENT (see docs/deploy.md).",
    ),
    install: str = typer.Option(
        "python -m pip install 'modelyard[postgres,s3,loadtest]'",
        "--install",
        help="Command that installs modelyard (and your training's requirements).",
    ),
    python: str = typer.Option("3.11", "--python", help="Python version of the CI image."),
    users: int = typer.Option(16, "--users", help="Load-test gate: callers at once."),
    duration: str = typer.Option("30s", "--duration", help="Load-test gate: how long."),
    p95_ms: float = typer.Option(50.0, "--p95-ms", help="Load-test and rollout p95 budget, ms."),
    max_error_rate: float = typer.Option(
        0.001, "--max-error-rate", help="Load-test gate: share of failed requests allowed."
    ),
    steps: str = typer.Option("5,25,50,100", "--steps", help="Canary traffic percentages."),
    interval: str = typer.Option("10m", "--interval", help="Time each canary step must hold."),
    branch: str = typer.Option("main", "--branch", help="Branch whose pushes run it."),
    force: bool = typer.Option(False, "--force", help="Replace pipeline files that exist."),
) -> None:
    """Write GitHub Actions and/or GitLab CI pipelines: install, train, drift gate,
    register, promotion gate, load-test gate, canary rollout. Secrets stay references."""
    from modelyard.deploy.pipelines import Pipeline, pipeline_files

    spec = Pipeline(
        model=model,
        endpoint=endpoint,
        train=train,
        python=python,
        install=install,
        users=users,
        duration=duration,
        p95_ms=p95_ms,
        max_error_rate=max_error_rate,
        steps=steps,
        interval=interval,
        branch=branch,
    )
    files = pipeline_files(spec, provider)
    _write(out, files, force)
    for path in files:
        say(f"wrote {out / path}")


def _write(out: Path, files: dict[str, str], force: bool) -> None:
    """All or nothing: every target is checked before the first is written."""
    from modelyard.errors import AlreadyExists, InvalidInput

    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} exists and is not a folder")
    targets = {out / path: text for path, text in files.items()}
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        raise AlreadyExists(f"already there: {', '.join(existing)}; pass --force to replace")
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
