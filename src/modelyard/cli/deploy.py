"""``modelyard deploy docker|compose|kubernetes|ci``: write what a platform team runs."""

from __future__ import annotations

from pathlib import Path

import typer

from modelyard.cli.context import open_yard
from modelyard.cli.output import say

deploy_app = typer.Typer(
    help="Write a container build context, a compose project, Kubernetes manifests or CI "
    "pipelines.",
    no_args_is_help=True,
)

ForceOption = typer.Option(False, "--force", help="Replace OUT if it exists.")
OutArgument = typer.Argument(..., help="Folder to write (refused if it exists, unless --force).")


@deploy_app.command("docker")
def docker(
    ctx: typer.Context,
    out: Path = OutArgument,
    bake: str | None = typer.Option(
        None,
        "--bake",
        help="Copy this version's files into the image (e.g. churn@production), for sites "
        "that cannot reach the artifact store; verified against the registry at every load.",
    ),
    extra: list[str] = typer.Option(
        ["postgres", "s3"], "--extra", help="modelyard extras the image installs (repeat)."
    ),
    force: bool = ForceOption,
) -> None:
    """A Dockerfile (multi-stage, non-root, exact versions of this environment), a
    .dockerignore and the build context; models load from the yard at start by default."""
    from modelyard.deploy.container import Baked, context_files, filler
    from modelyard.deploy.files import write_folder
    from modelyard.deploy.lock import environment_lock

    lock = environment_lock(extra)
    baked = None
    if bake is not None:
        yard = open_yard(ctx)
        baked = Baked(yard.get_version(bake), yard.stores.artifacts)
    write_folder(out, context_files(lock, baked), force=force, fill=filler(lock, baked))
    what = f" with {baked.version.ref} baked in" if baked else ""
    say(f"wrote {out}/Dockerfile{what}; build: docker build -t modelyard:{lock.version} {out}")


@deploy_app.command("compose")
def compose(ctx: typer.Context, out: Path = OutArgument, force: bool = ForceOption) -> None:
    """modelyard (server and controller), PostgreSQL, MinIO, Prometheus and Grafana with
    healthchecks; fill OUT/.env, then `docker compose up --build` in OUT."""
    from modelyard.deploy.compose import compose_files
    from modelyard.deploy.container import PORT, context_files, filler
    from modelyard.deploy.files import write_folder
    from modelyard.deploy.lock import environment_lock
    from modelyard.deploy.observability import observability_files

    lock = environment_lock()
    image = {f"image/{path}": text for path, text in context_files(lock).items()}
    monitoring = observability_files(targets=(f"modelyard:{PORT}",))
    files = {**compose_files(monitoring), **image}
    write_folder(
        out, files, force=force, fill=filler(lock, None, under="image"), filled_by_user=[".env"]
    )
    say(f"wrote {out}/compose.yaml; fill {out}/.env, then: docker compose up --build")


@deploy_app.command("kubernetes")
def kubernetes(
    out: Path = OutArgument,
    image: str = typer.Option("modelyard:latest", "--image", help="Image to run."),
    artifacts: str = typer.Option(
        "s3://modelyard/artifacts", "--artifacts", help="Artifact store URL (no credentials)."
    ),
    db_secret: str = typer.Option(
        "modelyard-db:url",
        "--db-secret",
        help="Secret NAME:KEY holding the database URL (a reference; a URL is refused).",
    ),
    s3_secret: str = typer.Option(
        "modelyard-s3",
        "--s3-secret",
        help="Secret with keys access-key-id and secret-access-key for the artifact store.",
    ),
    s3_endpoint: str | None = typer.Option(
        None, "--s3-endpoint", help="URL of an S3-compatible store (MinIO, Ceph), if not AWS."
    ),
    replicas: int = typer.Option(2, "--replicas", min=1, help="Serving replicas at least."),
    max_replicas: int = typer.Option(10, "--max-replicas", min=1, help="Most, for the HPA."),
    force: bool = ForceOption,
) -> None:
    """A kustomize base (Deployments, Service, HPA, PodDisruptionBudget, ServiceMonitor,
    NetworkPolicy) and staging/production overlays; secrets by reference only."""
    from modelyard.config import load_settings
    from modelyard.deploy.files import secret_ref, write_folder
    from modelyard.deploy.kubernetes import KubeSettings, SecretRef, manifests
    from modelyard.errors import InvalidInput

    database = SecretRef(*secret_ref(db_secret, "--db-secret"))
    s3_name, _ = secret_ref(f"{s3_secret}:-", "--s3-secret")
    if "@" in artifacts or "?" in artifacts:
        raise InvalidInput("--artifacts takes the store URL only; credentials go in --s3-secret")
    if max_replicas < replicas:
        raise InvalidInput(f"--max-replicas {max_replicas} is below --replicas {replicas}")
    settings = load_settings()
    kube = KubeSettings(
        image=image,
        artifacts=artifacts,
        database=database,
        s3_key_id=SecretRef(s3_name, "access-key-id"),
        s3_secret=SecretRef(s3_name, "secret-access-key"),
        s3_endpoint=s3_endpoint,
        drain_seconds=settings.drain_seconds,
        shutdown_seconds=settings.shutdown_seconds,
        replicas=replicas,
        max_replicas=max_replicas,
    )
    write_folder(out, manifests(kube), force=force)
    say(f"wrote {out}/base and {out}/overlays; apply: kubectl apply -k {out}/overlays/production")


def install(app: typer.Typer) -> None:
    from modelyard.cli import deploy_monitoring
    from modelyard.cli.deploy_ci import ci

    deploy_app.command("ci")(ci)
    deploy_monitoring.install(deploy_app)
    app.add_typer(deploy_app, name="deploy")
