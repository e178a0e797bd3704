"""The MLflow run a model came from, read from a local tracking folder (``mlruns/``).

MLflow's file store keeps an experiment as ``<root>/<experiment id>/meta.yaml`` and each run
beside it as ``<experiment id>/<run id>/`` with ``meta.yaml``, ``params/``, ``metrics/`` and
``tags/`` (one file per key; a key with ``/`` is a nested file). A model logged by a run sits
under the run's ``artifacts/`` (MLflow 2) or under ``<experiment id>/models/m-…/artifacts/``
(MLflow 3); its ``MLmodel`` names the run. Nothing here imports MLflow.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelyard.domain.entities import RunStatus
from modelyard.errors import InvalidInput
from modelyard.store.tracking import MAX_PARAM_VALUE, MAX_RUN_NAME, NewRun

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_DEPTH = 8  # folders above the model to look for its experiment
MAX_KEYS = 10_000
MAX_POINTS = 1_000_000
# MLflow's RunStatus numbers (and names, as newer stores write them).
STATUSES = {
    "1": RunStatus.RUNNING,
    "RUNNING": RunStatus.RUNNING,
    "2": RunStatus.RUNNING,
    "SCHEDULED": RunStatus.RUNNING,
    "3": RunStatus.FINISHED,
    "FINISHED": RunStatus.FINISHED,
    "4": RunStatus.FAILED,
    "FAILED": RunStatus.FAILED,
    "5": RunStatus.FAILED,
    "KILLED": RunStatus.FAILED,
}


def find_run(model_root: Path, run_id: str | None) -> NewRun | None:
    """The run ``run_id`` when ``model_root`` sits in its tracking folder, else None."""
    if run_id is None or not RUN_ID.fullmatch(run_id):
        return None
    for experiment in list(model_root.parents)[:MAX_DEPTH]:
        run = experiment / run_id
        if (run / "meta.yaml").is_file() and (experiment / "meta.yaml").is_file():
            return read_run(experiment, run)
    return None


def read_run(experiment: Path, run: Path) -> NewRun:
    experiment_meta = _yaml(experiment / "meta.yaml")
    meta = _yaml(run / "meta.yaml")
    experiment_name = str(experiment_meta.get("name", experiment.name))
    status_code = str(meta.get("status", "3"))
    status = STATUSES.get(status_code, RunStatus.FINISHED)
    tags = _keyed_files(run / "tags")
    metrics, skipped = _metrics(run / "metrics")
    mlflow: dict[str, Any] = {
        "run_id": run.name,
        "experiment_id": str(experiment_meta.get("experiment_id", experiment.name)),
        "experiment": experiment_name,
        "status": status_code,
        "user": meta.get("user_id"),
        "tags": tags,
    }
    if skipped:
        mlflow["metric_points_not_finite"] = skipped  # NaN/inf: modelyard keeps finite ones
    commit = tags.get("mlflow.source.git.commit")
    return NewRun(
        id=run.name,
        experiment=experiment_name_for(experiment_name),
        name=str(meta.get("run_name") or tags.get("mlflow.runName") or "")[:MAX_RUN_NAME],
        status=status,
        started_at=_when(meta.get("start_time")) or datetime.now(UTC),
        ended_at=_when(meta.get("end_time")),
        params={k: v[:MAX_PARAM_VALUE] for k, v in _keyed_files(run / "params").items()},
        metrics=metrics,
        provenance={
            "imported_from": "mlflow",
            "mlflow": mlflow,
            "git": {"commit": commit, "dirty": None, "branch": tags.get("mlflow.source.branch")},
            "user": meta.get("user_id"),
        },
        error="killed in MLflow" if status_code in ("5", "KILLED") else "",
    )


def experiment_name_for(name: str) -> str:
    """An MLflow experiment name (any text, ``/Users/ana/churn``) as a modelyard name."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._")[:64]
    return cleaned or "mlflow"


def _keyed_files(folder: Path) -> dict[str, str]:
    """``params/`` or ``tags/``: the file's path under the folder is the key, its text the
    value (MLflow writes no trailing newline)."""
    if not folder.is_dir():
        return {}
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            if len(found) >= MAX_KEYS:
                raise InvalidInput(f"{folder}: more than {MAX_KEYS:,} keys")
            key = path.relative_to(folder).as_posix()
            found[key] = path.read_text(encoding="utf-8", errors="replace")
    return found


def _metrics(folder: Path) -> tuple[tuple[tuple[str, float, int, datetime], ...], int]:
    """Each metric file's lines ``<ms timestamp> <value> <step>``, repeats dropped."""
    points: dict[tuple[str, float, int, int], None] = {}
    skipped = 0
    if not folder.is_dir():
        return (), 0
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        key = path.relative_to(folder).as_posix()
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{path}: a metric file must be UTF-8 text") from None
        for number, line in enumerate(text.splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            try:
                at, value = int(parts[0]), float(parts[1])
                step = int(parts[2]) if len(parts) > 2 else 0
            except (ValueError, IndexError):
                raise InvalidInput(
                    f"{path}: line {number} is not '<time> <value> <step>'"
                ) from None
            if not math.isfinite(value):
                skipped += 1
                continue
            points[(key, value, step, at)] = None
            if len(points) > MAX_POINTS:
                raise InvalidInput(f"{folder}: more than {MAX_POINTS:,} metric points")
    ordered = sorted(points, key=lambda p: (p[0], p[2], p[3]))
    return tuple((k, v, s, _when(at) or datetime.now(UTC)) for k, v, s, at in ordered), skipped


def _when(millis: object) -> datetime | None:
    if isinstance(millis, bool) or not isinstance(millis, int | float) or millis <= 0:
        return None
    try:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):  # a time no calendar holds: said as unknown
        return None


def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        loaded = yaml.load(
            path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: malformed YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(loaded, dict):
        raise InvalidInput(f"{path}: expected a YAML mapping")
    return loaded
