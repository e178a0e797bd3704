"""Importing an MLflow model folder as a version, with the run it came from.

Everything is read and checked before anything is written: the ``MLmodel``, the model file
(loaded back by modelyard's own flavor), the signature, the input example (the sample, which
the model must predict on) and the run's tracking files. The version and its run are then
written in one transaction, so a refused import leaves nothing behind.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.domain.entities import ModelVersion
from modelyard.domain.names import check_alias, check_name
from modelyard.errors import InvalidInput

if TYPE_CHECKING:
    from modelyard.services.registry import Registry
    from modelyard.store.tracking import NewRun


def import_mlflow(
    registry: Registry,
    path: Path,
    name: str | None,
    *,
    aliases: Iterable[str] = (),
    description: str = "",
    trust_types: bool = False,
    trust_pickle: bool = False,
) -> ModelVersion:
    from modelyard.flavors.mlflow_model import read_mlmodel, read_model
    from modelyard.flavors.mlflow_schema import declared_inputs, read_input_example
    from modelyard.services.mlflow_runs import find_run

    root = path.resolve()
    aliases = [check_alias(a) for a in aliases]
    document = read_mlmodel(root)  # the cheap checks first: a folder that is no model
    model_name = check_name(name, "model name") if name else default_name(root)
    model = read_model(root, trust_types=trust_types, trust_pickle=trust_pickle)
    declared = declared_inputs(model.root, document)
    sample = read_input_example(model.root, document, declared)
    run = find_run(model.root, model.run_id)
    tags = {
        key: value
        for key, value in (
            ("mlflow.model_uuid", model.provenance()["model_uuid"]),
            ("mlflow.run_id", model.run_id),
        )
        if value
    }
    audit: dict[str, Any] = {
        "source": f"mlflow:{model.mlflow_flavor}",
        "trusted_types": trust_types,
        "trusted_pickle": trust_pickle and model.saved.meta.get("format") == "pickle",
        "run": run.id if run is not None else None,
    }
    version = registry.register_saved(
        model.flavor,
        model.saved,
        model_name,
        sample=sample,
        metrics=None,
        params=None,
        tags=tags,
        description=description,
        datasets=(),
        run=run,
        audit_details=audit,
        declared=declared,
        # Where the training code was is MLflow's to say, not the importing folder's git.
        provenance={"mlflow": model.provenance(), "git": _git(run)},
    )
    for alias in aliases:
        registry.set_alias(model_name, alias, version.version, reason="import mlflow")
    return registry.get_version(model_name, version.version) if aliases else version


def _git(run: NewRun | None) -> dict[str, Any]:
    found = run.provenance.get("git", {}) if run is not None else {}
    return {"commit": found.get("commit"), "dirty": None, "branch": found.get("branch")}


def default_name(root: Path) -> str:
    """A model name from the folder (``churn_model/`` → ``churn_model``); MLflow 3 keeps a
    logged model in ``…/models/m-<id>/artifacts``, named in ``m-<id>/meta.yaml``."""
    candidate = root.name
    if candidate == "artifacts":
        candidate = _logged_model_name(root.parent) or root.parent.name
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", candidate.lower()).strip("-._")[:64]
    if not cleaned:
        raise InvalidInput(f"cannot name a model after {root.name!r}; give --name (name=)")
    return check_name(cleaned, "model name")


def _logged_model_name(folder: Path) -> str | None:
    import yaml

    meta = folder / "meta.yaml"
    if not meta.is_file():
        return None
    try:
        loaded = yaml.safe_load(meta.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return None
    found = loaded.get("name") if isinstance(loaded, dict) else None
    return found if isinstance(found, str) and found else None
