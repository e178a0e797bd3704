"""Registry commands: models, register, alias, rollback, archive, lineage, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from modelyard.cli.context import open_yard, parse_pairs
from modelyard.cli.output import JsonOption, errors, print_json, say, short_metrics, table, when
from modelyard.domain.kinds import label
from modelyard.domain.monitoring import NO_REFERENCE

# A version registered without a sample has no reference profile until `profile set` gives
# it one (also said by `monitor status`).
NO_REFERENCE_FIX = (
    f"{NO_REFERENCE} (add one with `modelyard profile set NAME@V --sample FILE`, rows of its "
    "training inputs)"
)

models_app = typer.Typer(help="List and inspect registered models.", no_args_is_help=True)
alias_app = typer.Typer(help="Named pointers to versions (churn@production).", no_args_is_help=True)
profile_app = typer.Typer(
    help="A version's reference profile: what drift and the gate's data checks compare with.",
    no_args_is_help=True,
)


@models_app.command("list")
def list_models(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """Every model with its latest version and aliases."""
    found = open_yard(ctx).list_models()
    if as_json:
        print_json(found)
        return
    table(
        "models",
        ["name", "latest ready", "versions", "aliases", "created"],
        [
            [
                m.name,
                m.latest_version,
                m.versions,
                ", ".join(f"{a}→{v}" for a, v in sorted(m.aliases.items())) or "—",
                when(m.created_at),
            ]
            for m in found
        ],
    )


@models_app.command("show")
def show_model(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="churn, churn@3 or churn@production"),
    as_json: bool = JsonOption,
) -> None:
    """One version in full: signature, metrics, reference profile, files, provenance."""
    yard = open_yard(ctx)
    version = yard.get_version(ref)
    if as_json:
        print_json(version)
        return
    reference = version.checks_off
    if reference is None:
        rows = yard.profile(version.ref).get("rows", 0)
        reference = f"profile of {rows:,} sample rows (drift is compared with it)"
    table(
        f"{version.ref}",
        ["field", "value"],
        [
            ["flavor", version.flavor],
            ["status", version.status.value],
            ["aliases", ", ".join(version.aliases) or "—"],
            ["created", f"{when(version.created_at)} by {version.created_by}"],
            ["description", version.description or "—"],
            ["metrics", short_metrics(version.metrics, 20) or "—"],
            ["params", ", ".join(f"{k}={v}" for k, v in version.params.items()) or "—"],
            ["run", version.run_id or "—"],
            ["datasets", ", ".join(version.datasets) or "—"],
            ["commit", str(version.provenance.get("git", {}).get("commit") or "—")],
            [
                "output",
                f"{version.signature['output']['kind']}"
                f" classes={version.signature['output'].get('classes')}",
            ],
            ["reference", reference],
        ],
    )
    table(
        "signature",
        ["feature", "kind", "nullable", "min", "max", "categories"],
        [
            [
                f["name"],
                label(f["kind"]),
                f["nullable"],
                f.get("min"),
                f.get("max"),
                len(f["categories"]) if f.get("categories") else "—",
            ]
            for f in version.signature["inputs"]
        ],
    )
    table(
        "files",
        ["name", "sha256", "bytes"],
        [[f.name, f.sha256[:16] + "…", f.size] for f in version.files],
    )


@models_app.command("versions")
def list_versions(ctx: typer.Context, name: str, as_json: bool = JsonOption) -> None:
    """All versions of a model."""
    found = open_yard(ctx).list_versions(name)
    if as_json:
        print_json(
            [{k: v for k, v in version.to_dict().items() if k != "signature"} for version in found]
        )
        return
    table(
        f"versions of {name}",
        ["version", "status", "flavor", "aliases", "metrics", "created", "by"],
        [
            [
                v.version,
                v.status.value,
                v.flavor,
                ", ".join(v.aliases) or "—",
                short_metrics(v.metrics),
                when(v.created_at),
                v.created_by,
            ]
            for v in found
        ],
    )


@models_app.command("delete")
def delete_version(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="churn@3"),
    reason: str = typer.Option("", help="Why, for the audit log."),
) -> None:
    """Delete one version (refused while an alias points to it); gc frees its bytes."""
    yard = open_yard(ctx)
    version = yard.get_version(ref)
    yard.delete_version(version.name, version.version, reason=reason)
    say(f"deleted {version.ref}")


def register(
    ctx: typer.Context,
    file: str = typer.Argument(
        ...,
        help="Model file: .onnx, .skops, or .joblib/.pkl (with --trust-pickle); with --code, "
        "module:Class of a modelyard.PythonModel in the code files (built with no arguments).",
    ),
    name: str = typer.Option(..., "--name", "-n", help="Model name."),
    sample: Path | None = typer.Option(
        None,
        help="Sample of inputs (.csv/.parquet/.jsonl) for the signature and reference profile.",
    ),
    metric: list[str] | None = typer.Option(None, help="KEY=VALUE, repeatable."),
    param: list[str] | None = typer.Option(None, help="KEY=VALUE, repeatable."),
    tag: list[str] | None = typer.Option(None, help="KEY=VALUE, repeatable."),
    dataset: list[str] | None = typer.Option(None, help="Dataset NAME@V it was trained on."),
    run: str | None = typer.Option(None, help="Run id (or unique prefix) it came from."),
    description: str = typer.Option("", help="Free text."),
    feature: list[str] | None = typer.Option(
        None,
        help="NAME=KIND, repeatable: the kind of a sample column over the inferred one "
        "(numeric, int, bool, closed, open, text).",
    ),
    trust_types: bool = typer.Option(
        False,
        "--trust-types",
        help="Accept types beyond the skops allow-list in a .skops file (functions, your own "
        "classes); each is named in the audit log.",
    ),
    trust_pickle: bool = typer.Option(
        False,
        "--trust-pickle",
        help="Allow .joblib/.pkl (runs code on load; recorded in the audit log).",
    ),
    code: list[Path] | None = typer.Option(
        None,
        "--code",
        help="A custom model's .py file or package folder, repeatable: trusted code, run on "
        "every load (audited).",
    ),
    artifact: list[str] | None = typer.Option(
        None,
        "--artifact",
        help="NAME=FILE or NAME=MODEL@ALIAS (or MODEL:VERSION) for a custom model's load "
        "context, repeatable.",
    ),
    holdout: Path | None = typer.Option(
        None,
        "--holdout",
        help="Labelled rows (.csv/.parquet/.jsonl) a classifier's performance is estimated "
        "from while live labels are missing (stands for --sample when that is not given).",
    ),
    label: str = typer.Option("label", "--label", help="Label column of the holdout."),
    as_json: bool = JsonOption,
) -> None:
    """Register a saved model file (or, with --code, a custom Python model) as the next
    version of a model."""
    import warnings

    from modelyard.domain.values import check_metric
    from modelyard.errors import InvalidInput, NoReferenceWarning

    metrics: dict[str, float] = {}
    for key, value in parse_pairs(metric, "metric").items():
        try:
            number = float(value)
        except ValueError:
            raise InvalidInput(f"--metric {key}={value}: the value must be a number") from None
        metrics.update([check_metric(key, number)])
    yard = open_yard(ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoReferenceWarning)  # said below, with the CLI's flag
        common: dict[str, Any] = {
            "sample": sample,
            "metrics": metrics,
            "params": parse_pairs(param, "param"),
            "tags": parse_pairs(tag, "tag"),
            "datasets": dataset or [],
            "run": run,
            "description": description,
            "trust_types": trust_types,
            "features": parse_pairs(feature, "feature"),
            "holdout": _holdout(holdout, label) if holdout is not None else None,
        }
        if code:
            model = _custom_model(file, code)
            artifacts = parse_pairs(artifact, "artifact")
            version = yard.register(model, name, code=code, artifacts=artifacts, **common)
        elif artifact:
            raise InvalidInput("--artifact is for custom models (--code)")
        else:
            version = yard.register_file(Path(file), name, trust_pickle=trust_pickle, **common)
    if as_json:
        print_json(version)
    else:
        features = len(version.signature["inputs"])
        say(f"registered {version.ref} ({version.flavor}, {features} features)")
    if version.checks_off is not None:  # on stderr: --json output stays one document
        errors.print(Text(f"warning: {version.ref}: {version.checks_off}"), soft_wrap=True)


def _holdout(path: Path, label: str) -> tuple[object, object]:
    from modelyard.services.holdout import split_holdout
    from modelyard.tabular import read_table

    return split_holdout(read_table(path), label)


def _custom_model(reference: str, code: list[Path]) -> object:
    """An instance of ``module:Class`` from the code files, run from their bytes the way a
    load runs them (never from the working directory)."""
    from modelyard.errors import InvalidInput, YardError, first_line
    from modelyard.flavors.custom_code import CodeNamespace, collect_code

    if ":" not in reference:
        raise InvalidInput(f"with --code, give the model as module:Class, not {reference!r}")
    namespace = CodeNamespace(collect_code(code))
    try:
        cls = namespace.find(reference)
        if not isinstance(cls, type):
            raise InvalidInput(f"{reference} is not a class")
        return cls()
    except YardError:
        raise
    except Exception as exc:  # the user's code, whatever it raises
        raise InvalidInput(f"{reference}: {first_line(exc)}") from None


@profile_app.command("set")
def profile_set(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="churn@3 or churn@production"),
    sample: Path = typer.Option(
        ..., help="Rows of the training inputs (.csv/.parquet/.jsonl), fitting the signature."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Swap the profile the version has (refused without it)."
    ),
    reason: str = typer.Option("", help="Why, for the audit log."),
    as_json: bool = JsonOption,
) -> None:
    """Give a version registered without a sample its reference profile, so drift and the
    promotion gate's data checks work for it (audited)."""
    version = open_yard(ctx).set_profile(ref, sample, replace=replace, reason=reason)
    if as_json:
        print_json(version)
        return
    say(f"{version.ref}: reference profile set from {sample.name}; drift is computed from now on")


@alias_app.command("set")
def alias_set(
    ctx: typer.Context,
    name: str,
    alias: str,
    version: int,
    expect: int | None = typer.Option(
        None, help="Move only if the alias still points at this version (0: only if unset)."
    ),
    reason: str = typer.Option("", help="Why, for the audit log."),
) -> None:
    """Point NAME@ALIAS at VERSION."""
    event = open_yard(ctx).set_alias(name, alias, version, reason=reason, expect=expect)
    say(f"{name}@{alias}: {event.from_version or '—'} → {event.to_version}")


@alias_app.command("show")
def alias_show(ctx: typer.Context, name: str, as_json: bool = JsonOption) -> None:
    """The aliases of a model and where they point."""
    model = open_yard(ctx).get_model(name)
    if as_json:
        print_json(model.aliases)
        return
    table(
        f"aliases of {name}",
        ["alias", "version"],
        [[a, v] for a, v in sorted(model.aliases.items())],
    )


@alias_app.command("history")
def alias_history(
    ctx: typer.Context,
    name: str,
    alias: str | None = typer.Argument(None),
    as_json: bool = JsonOption,
) -> None:
    """Every move of the model's aliases, oldest first."""
    events = open_yard(ctx).alias_history(name, alias)
    if as_json:
        print_json(events)
        return
    table(
        f"alias history of {name}",
        ["#", "alias", "kind", "from", "to", "actor", "when", "reason"],
        [
            [
                e.seq,
                e.alias,
                e.kind,
                e.from_version,
                e.to_version,
                e.actor,
                when(e.at),
                e.reason or "—",
            ]
            for e in events
        ],
    )


@alias_app.command("delete")
def alias_delete(
    ctx: typer.Context,
    name: str,
    alias: str,
    reason: str = typer.Option("", help="Why, for the audit log."),
) -> None:
    """Remove an alias (its history stays)."""
    open_yard(ctx).delete_alias(name, alias, reason=reason)
    say(f"deleted alias {name}@{alias}")


def rollback(
    ctx: typer.Context,
    name: str,
    alias: str = typer.Option("production", help="The alias to move back."),
    expect: int | None = typer.Option(None, help="Only if it still points here."),
    reason: str = typer.Option("", help="Why, for the audit log."),
) -> None:
    """Move an alias back to the target it had before its current one."""
    event = open_yard(ctx).rollback(name, alias, reason=reason, expect=expect)
    say(f"{name}@{alias}: {event.from_version} → {event.to_version} (rolled back)")


def archive(
    ctx: typer.Context,
    name: str,
    version: int,
    undo: bool = typer.Option(False, "--undo", help="Make it ready again."),
    reason: str = typer.Option("", help="Why, for the audit log."),
) -> None:
    """Archive a version (kept and loadable by number, never aliased)."""
    yard = open_yard(ctx)
    done = (yard.unarchive if undo else yard.archive)(name, version, reason=reason)
    say(f"{done.ref} is {done.status.value}")


def lineage(
    ctx: typer.Context, ref: str = typer.Argument(..., help="churn@3"), as_json: bool = JsonOption
) -> None:
    """Where a version came from: run, datasets, code commit, environment."""
    found = open_yard(ctx).lineage(ref)
    if as_json:
        print_json(found)
        return
    version, run, code = found["version"], found["run"], found["code"]
    rows = [
        [
            "version",
            f"{version['ref']} ({version['flavor']}, {version['status']}) "
            f"by {version['created_by']} at {version['created_at'][:19]}",
        ]
    ]
    if run:
        rows.append(
            [
                "run",
                f"{run['id'][:12]} in {run['experiment']} ({run['status']}): "
                f"{short_metrics(run['metrics'])}",
            ]
        )
        rows.append(["params", ", ".join(f"{k}={v}" for k, v in run["params"].items()) or "—"])
    else:
        rows.append(["run", "—"])
    for dataset in found["datasets"] or [None]:
        rows.append(
            [
                "dataset",
                "—"
                if dataset is None
                else f"{dataset['ref']} ({dataset['rows']} rows, sha256 {dataset['sha256'][:12]}…)",
            ]
        )
    commit = code["commit"][:12] + (" (dirty)" if code["dirty"] else "") if code["commit"] else "—"
    rows.append(["code", commit])
    env = found["environment"]
    rows.append(
        [
            "environment",
            f"python {env['python']} on {env['host']}; "
            + ", ".join(f"{k} {v}" for k, v in sorted(env["libraries"].items())),
        ]
    )
    table(f"lineage of {version['ref']}", ["", ""], rows)


def audit(
    ctx: typer.Context,
    target: str | None = typer.Option(None, help="Only events about this (e.g. churn)."),
    action: str | None = typer.Option(None, help="Only this action (e.g. alias.set)."),
    limit: int = typer.Option(50, help="How many, newest first."),
    as_json: bool = JsonOption,
) -> None:
    """The audit log: every mutation with actor, time and reason."""
    events = open_yard(ctx).audit(target=target, action=action, limit=limit)
    if as_json:
        print_json(events)
        return
    table(
        "audit log",
        ["#", "when", "actor", "action", "target", "details"],
        [
            [
                e.seq,
                when(e.at),
                e.actor,
                e.action,
                e.target,
                ", ".join(f"{k}={v}" for k, v in e.details.items() if v not in (None, "", False))
                or "—",
            ]
            for e in events
        ],
    )


def install(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
    app.add_typer(alias_app, name="alias")
    app.add_typer(profile_app, name="profile")
    app.command("register")(register)
    app.command("rollback")(rollback)
    app.command("archive")(archive)
    app.command("lineage")(lineage)
    app.command("audit")(audit)
