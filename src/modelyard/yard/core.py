"""``Yard``: the one service the Python API, the CLI and the server all go through."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.config import Settings, load_settings
from modelyard.domain.endpoints import Endpoint, Limits, ReplicaStatus, Route
from modelyard.domain.entities import (
    AliasEvent,
    AuditEvent,
    DatasetVersion,
    FileRef,
    Model,
    ModelVersion,
    Run,
    VersionStatus,
)
from modelyard.domain.keys import ApiKey
from modelyard.domain.monitoring import KEEP_FINE, MonitorSpec
from modelyard.domain.names import check_name, parse_ref
from modelyard.domain.values import check_key, check_mapping, check_metrics, check_text
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.provenance import capture
from modelyard.store import audit as audit_log
from modelyard.store.abtests import ABTestStore
from modelyard.store.artifacts import ArtifactStore, sha256_file
from modelyard.store.backup import BackupReport, Progress, create_backup
from modelyard.store.blobs import BlobLedger, GcReport, new_token
from modelyard.store.datasets import DatasetStore
from modelyard.store.db import Database
from modelyard.store.endpoints import EndpointStore
from modelyard.store.keys import KeyStore
from modelyard.store.policies import PolicyStore
from modelyard.store.predictions import FeedbackResult, LogRow, PredictionLog
from modelyard.store.registry import NewVersion, RegistryStore
from modelyard.store.rollouts import RolloutStore
from modelyard.store.route_claims import set_routes
from modelyard.store.schema import utcnow
from modelyard.store.status import StatusStore
from modelyard.store.tracking import TrackingStore
from modelyard.store.windows import StoredWindow, WindowStore
from modelyard.yard.abtests import ABTestMixin
from modelyard.yard.control import ControlMixin
from modelyard.yard.runs import ActiveRun

if TYPE_CHECKING:  # the heavy half (pandas, scikit-learn, scipy) loads only when used
    import pandas as pd

    from modelyard.flavors import Flavor, SavedModel
    from modelyard.monitoring.compaction import Compacted
    from modelyard.runtime.predictor import Predictor
    from modelyard.validation.gate import GateReport, GateSettings
    from modelyard.yard.promotion import Promotion
    from modelyard.yard.restore import RestoreReport

log = logging.getLogger(__name__)

MAX_ACTOR = 128
MAX_TAG = 5000
MAX_DESCRIPTION = 10_000


class Yard(ControlMixin, ABTestMixin):
    """Models, versions, aliases, runs and datasets over one database and artifact store."""

    def __init__(
        self,
        home: str | Path | None = None,
        *,
        db_url: str | None = None,
        artifacts: str | None = None,
        actor: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        if settings is None:
            settings = load_settings()
        overrides: dict[str, Any] = {}
        if home is not None:
            overrides["home"] = Path(home)
        if db_url is not None:
            overrides["db_url"] = db_url
        if artifacts is not None:
            overrides["artifacts"] = artifacts
        if actor is not None:
            overrides["actor"] = actor
        check_text(overrides.get("actor", settings.actor), "actor", MAX_ACTOR)
        self.settings = settings.model_copy(update=overrides)
        self.actor = self.settings.actor
        self.db = Database(self.settings.resolved_db_url)
        self.db.migrate()
        self.artifacts = ArtifactStore(self.settings.resolved_artifacts)
        self.blobs = BlobLedger(self.db, self.artifacts)
        self.registry = RegistryStore(self.db)
        self.tracking = TrackingStore(self.db)
        self.datasets = DatasetStore(self.db)
        self.endpoints = EndpointStore(self.db)
        self.keys = KeyStore(self.db)
        self.status = StatusStore(self.db)
        self.predictions = PredictionLog(self.db)
        self.windows = WindowStore(self.db)
        self.rollouts = RolloutStore(self.db)
        self.policies = PolicyStore(self.db)
        self.abtests = ABTestStore(self.db)

    def acting_as(self, actor: str) -> Yard:
        """The same yard (stores, connections) recording ``actor`` on what it changes: a
        server acts for the key that made each request."""
        check_text(actor, "actor", MAX_ACTOR)
        other = copy.copy(self)
        other.actor = actor
        return other

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Yard:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Yard(db={self.db.safe_url!r}, artifacts={self.artifacts.url!r})"

    # -- registering ----------------------------------------------------------------------

    def register(
        self,
        model: object,
        name: str,
        *,
        sample: object | None = None,
        metrics: dict[str, float] | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        description: str = "",
        datasets: Iterable[DatasetVersion | str] = (),
        run: ActiveRun | str | None = None,
        trust_types: bool = False,
    ) -> ModelVersion:
        """Save ``model`` as the next version of ``name`` with signature, profile and lineage."""
        from modelyard.flavors import detect_flavor

        check_name(name, "model name")
        flavor = detect_flavor(model)
        saved = flavor.save(model, trust_types=trust_types)
        return self._register(
            flavor,
            saved,
            name,
            sample=sample,
            metrics=metrics,
            params=params,
            tags=tags,
            description=description,
            datasets=datasets,
            run=run,
            audit_details={"trusted_types": trust_types},
        )

    def register_file(
        self,
        path: str | Path,
        name: str,
        *,
        sample: object | None = None,
        metrics: dict[str, float] | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        description: str = "",
        datasets: Iterable[DatasetVersion | str] = (),
        run: ActiveRun | str | None = None,
        trust_types: bool = False,
        trust_pickle: bool = False,
    ) -> ModelVersion:
        """Register a saved model file (``.onnx``, ``.skops``; pickles only when trusted)."""
        from modelyard.flavors import flavor_for_file

        check_name(name, "model name")
        source = Path(path)
        flavor = flavor_for_file(source)
        if not source.is_file():
            raise NotFound(f"{source}: no such file")
        saved = flavor.read_file(source, trust_types=trust_types, trust_pickle=trust_pickle)
        details = {
            "source": str(source.name),
            "trusted_types": trust_types,
            "trusted_pickle": trust_pickle and saved.meta.get("format") == "pickle",
        }
        return self._register(
            flavor,
            saved,
            name,
            sample=sample,
            metrics=metrics,
            params=params,
            tags=tags,
            description=description,
            datasets=datasets,
            run=run,
            audit_details=details,
        )

    def _register(
        self,
        flavor: Flavor,
        saved: SavedModel,
        name: str,
        *,
        sample: object | None,
        metrics: dict[str, float] | None,
        params: dict[str, Any] | None,
        tags: dict[str, str] | None,
        description: str,
        datasets: Iterable[DatasetVersion | str],
        run: ActiveRun | str | None,
        audit_details: dict[str, Any],
    ) -> ModelVersion:
        from modelyard.runtime.loader import REFERENCE_FILE
        from modelyard.tabular import read_table
        from modelyard.yard.registration import prepare, warn_without_reference

        # What an explicit flag let in is named in the audit log, type by type.
        audit_details = {**audit_details, "types_trusted_by_flag": list(saved.trusted_by_flag)}
        clean_metrics = check_metrics(metrics)
        clean_params = _jsonable(check_mapping(params, "params"), "params")
        clean_tags = {
            check_key(str(k), "tag"): check_text(str(v), f"tag {k!r}", MAX_TAG)
            for k, v in check_mapping(tags, "tags").items()
        }
        check_text(description, "description", MAX_DESCRIPTION)
        if isinstance(datasets, str | DatasetVersion):
            datasets = [datasets]
        dataset_refs = tuple(self._dataset_ref(d) for d in datasets)
        run_id = self._run_id(run)
        if isinstance(sample, str | Path):
            sample = read_table(Path(sample))
        prepared = prepare(
            flavor,
            saved,
            sample,
            bins=self.settings.profile_bins,
            sample_rows=self.settings.reference_sample_rows,
        )
        contents = dict(saved.files)
        if prepared.reference is not None:
            contents[REFERENCE_FILE] = prepared.reference
        hashes = {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}
        token = new_token()
        self.blobs.reserve(token, hashes.values())
        try:
            files = []
            for file_name, data in sorted(contents.items()):
                blob = self.artifacts.put_bytes(data)
                files.append(FileRef(file_name, blob.sha256, blob.size))
            new = NewVersion(
                name=name,
                flavor=flavor.name,
                signature=prepared.signature.to_dict(),
                profile=prepared.profile,
                params=clean_params,
                metrics=clean_metrics,
                tags=clean_tags,
                description=description,
                files=tuple(files),
                flavor_meta=saved.meta,
                provenance=capture(self.actor, flavor.libraries()),
                run_id=run_id,
                datasets=dataset_refs,
            )
            created = self.registry.create_version(new, self.actor, audit_details, token)
        except BaseException:
            self.abandon(token, hashes.values())
            raise
        if not prepared.profile:
            warn_without_reference(created.ref)
        return created

    def abandon(self, token: str, hashes: Iterable[str]) -> None:
        """Undo a failed write: blobs nobody references or reserves are removed again."""
        try:
            self.blobs.discard(token, hashes)
        except Exception:  # cleanup is best effort; gc removes what is left
            log.warning("could not remove blobs of a failed write; run `modelyard gc --apply`")

    def referenced_blobs(self) -> set[str]:
        return self.blobs.referenced()

    def _dataset_ref(self, dataset: DatasetVersion | str) -> str:
        if isinstance(dataset, DatasetVersion):
            return dataset.ref
        if not isinstance(dataset, str):
            raise InvalidInput(f"datasets are DatasetVersions or 'name@version', got {dataset!r}")
        name, version, alias = parse_ref(dataset)
        if alias is not None:
            raise InvalidInput(f"datasets are referenced as name or name@version, not {dataset!r}")
        return self.datasets.get(name, version).ref

    def _run_id(self, run: ActiveRun | str | None) -> str | None:
        if run is None:
            return None
        if isinstance(run, ActiveRun):
            return run.id
        if not isinstance(run, str):
            raise InvalidInput(f"run must be an ActiveRun or a run id, got {run!r}")
        return self.tracking.find_run(run)

    # -- reading the registry -------------------------------------------------------------

    def get_version(self, ref: str, version: int | None = None) -> ModelVersion:
        return self.registry.resolve(ref, version)

    def load(self, ref: str, version: int | None = None) -> Predictor:
        """A predictor for ``churn@production``, ``churn@3`` or ``churn`` (latest ready)."""
        from modelyard.runtime.loader import load_version

        return load_version(self.registry.resolve(ref, version), self.artifacts)

    def list_models(
        self, limit: int | None = None, offset: int = 0, contains: str | None = None
    ) -> list[Model]:
        """Models by name; with ``limit``, one page of them (``contains``: part of a name)."""
        return self.registry.list_models(limit, offset, contains)

    def count_models(self, contains: str | None = None) -> int:
        return self.registry.count_models(contains)

    def get_model(self, name: str) -> Model:
        return self.registry.get_model(name)

    def list_versions(self, name: str) -> list[ModelVersion]:
        return self.registry.list_versions(name)

    def profile(self, ref: str) -> dict[str, Any]:
        version = self.registry.resolve(ref)
        return self.registry.profile(version.name, version.version)

    def lineage(self, ref: str) -> dict[str, Any]:
        """version → run → datasets → code commit, as one JSON-friendly document."""
        version = self.registry.resolve(ref)
        run = self.tracking.get_run(version.run_id) if version.run_id else None
        datasets = [self.datasets.get(*_split(d)) for d in version.datasets]
        git = version.provenance.get("git", {})
        return {
            "version": {
                "ref": version.ref,
                "flavor": version.flavor,
                "status": str(version.status),
                "created_at": version.created_at.isoformat(),
                "created_by": version.created_by,
                "metrics": version.metrics,
                "aliases": list(version.aliases),
                "files": [
                    {"name": f.name, "sha256": f.sha256, "size": f.size} for f in version.files
                ],
            },
            "run": None
            if run is None
            else {
                "id": run.id,
                "experiment": run.experiment,
                "name": run.name,
                "status": str(run.status),
                "params": run.params,
                "metrics": run.metrics,
                "git": run.provenance.get("git", {}),
            },
            "datasets": [
                {
                    "ref": d.ref,
                    "sha256": d.sha256,
                    "rows": d.rows,
                    "size": d.size,
                    "source": d.source,
                }
                for d in datasets
            ],
            "code": {
                "commit": git.get("commit"),
                "dirty": git.get("dirty"),
                "branch": git.get("branch"),
            },
            "environment": {
                "python": version.provenance.get("python"),
                "libraries": version.provenance.get("libraries", {}),
                "host": version.provenance.get("host"),
                "user": version.provenance.get("user"),
            },
        }

    # -- aliases and lifecycle ------------------------------------------------------------

    def set_alias(
        self, name: str, alias: str, version: int, *, reason: str = "", expect: int | None = None
    ) -> AliasEvent:
        return self.registry.set_alias(name, alias, version, self.actor, reason, expect)

    def promote(
        self,
        name: str,
        version: int,
        alias: str = "production",
        *,
        holdout: pd.DataFrame | str | Path | None = None,
        label: str | None = None,
        settings: GateSettings | None = None,
        force: bool = False,
        reason: str = "",
        expect: int | None = None,
    ) -> Promotion:
        """Run the promotion gate on ``name@version`` and point ``alias`` at it only if it
        passes (or ``force`` with a ``reason``); the report is audited either way.
        ``expect``: only if ``alias`` points at this version now (0: only if unset)."""
        from modelyard.yard.promotion import promote

        return promote(
            self,
            name,
            version,
            alias,
            holdout=holdout,
            label=label,
            settings=settings,
            force=force,
            reason=reason,
            expect=expect,
        )

    def check_promotion(
        self,
        name: str,
        version: int,
        alias: str = "production",
        *,
        holdout: pd.DataFrame | str | Path | None = None,
        label: str | None = None,
        settings: GateSettings | None = None,
    ) -> GateReport:
        """What the promotion gate says of ``name@version`` now; nothing moves, nothing is
        audited (the console shows it before anyone confirms a promotion)."""
        from modelyard.yard.promotion import judge

        return judge(self, name, version, alias, holdout=holdout, label=label, settings=settings)[0]

    def rollback(
        self, name: str, alias: str = "production", *, reason: str = "", expect: int | None = None
    ) -> AliasEvent:
        return self.registry.rollback(name, alias, self.actor, reason, expect)

    def delete_alias(self, name: str, alias: str, *, reason: str = "") -> AliasEvent:
        return self.registry.delete_alias(name, alias, self.actor, reason)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        return self.registry.alias_history(name, alias)

    def archive(self, name: str, version: int, *, reason: str = "") -> ModelVersion:
        return self.registry.set_status(name, version, VersionStatus.ARCHIVED, self.actor, reason)

    def unarchive(self, name: str, version: int, *, reason: str = "") -> ModelVersion:
        return self.registry.set_status(name, version, VersionStatus.READY, self.actor, reason)

    def delete_version(self, name: str, version: int, *, reason: str = "") -> None:
        self.registry.delete_version(name, version, self.actor, reason)

    def audit(
        self,
        target: str | None = None,
        action: str | None = None,
        limit: int = 100,
        *,
        actor: str | None = None,
        before: int | None = None,
    ) -> list[AuditEvent]:
        """Newest first; ``before`` (an event's seq) pages further back."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
            raise InvalidInput(f"limit must be between 1 and 100000, got {limit}")
        return self.db.read(
            lambda s: audit_log.list_events(
                s, target=target, action=action, limit=limit, actor=actor, before=before
            )
        )

    def revision(self) -> int:
        return self.db.read(audit_log.revision)

    # -- endpoints and keys ---------------------------------------------------------------

    def create_endpoint(self, name: str, model: str, *, limits: Limits | None = None) -> Endpoint:
        """Serve ``model`` (``churn@production``) under ``name``; the reference must resolve."""
        endpoint = Endpoint(name, (Route(model),), limits or Limits())
        self.registry.resolve(model)
        return self.endpoints.create(endpoint, self.actor)

    def get_endpoint(self, name: str) -> Endpoint:
        return self.endpoints.get(name)

    def list_endpoints(self) -> list[Endpoint]:
        return self.endpoints.list()

    def delete_endpoint(self, name: str, *, reason: str = "") -> None:
        self.endpoints.delete(name, self.actor, reason)

    def set_routes(
        self,
        name: str,
        routes: Sequence[Route],
        *,
        sticky_key: str | None = None,
        reason: str = "",
    ) -> Endpoint:
        """Split ``name``'s traffic (weights add up to 100; the first route is primary);
        audited, and picked up by every running server within a poll interval. Refused
        while a rollout or an A/B test owns the routes."""
        for route in routes:
            self.registry.resolve(route.model)
        return set_routes(self.db, name, routes, sticky_key, self.actor, reason)

    def configure_monitoring(
        self, name: str, monitoring: MonitorSpec, *, reason: str = ""
    ) -> Endpoint:
        """Replace an endpoint's monitoring settings (input sampling, drift tests); audited."""
        endpoint = dataclasses.replace(self.endpoints.get(name), monitoring=monitoring)
        return self.endpoints.update(endpoint, self.actor, reason)

    # -- monitoring records ---------------------------------------------------------------

    def monitor_profile(self, ref: str) -> tuple[dict[str, Any], bool]:
        """A version's reference profile, and whether it classifies (for its output sketch)."""
        version = self.get_version(ref)
        profile = self.registry.profile(version.name, version.version)
        return profile, version.signature.get("output", {}).get("kind") == "classification"

    def log_predictions(self, rows: Sequence[LogRow | Mapping[str, Any]]) -> None:
        self.predictions.append(rows)

    def save_windows(self, windows: Sequence[StoredWindow]) -> None:
        self.windows.save(windows)

    def add_feedback(self, endpoint: str, items: Sequence[tuple[str, str]]) -> FeedbackResult:
        """Ground truth for predictions of ``endpoint``: (prediction id, actual as JSON)."""
        self.endpoints.get(endpoint)
        return self.predictions.add_feedback(endpoint, items, utcnow())

    def prune_monitoring(self, older_than: timedelta, *, dry_run: bool = False) -> Pruned:
        """Delete prediction rows, their feedback and monitor windows older than the cutoff."""
        cutoff = utcnow() - older_than
        predictions, feedback = self.predictions.prune(cutoff, dry_run)
        windows = self.windows.prune(cutoff, dry_run)
        if not dry_run:
            self.db.write(
                lambda session: audit_log.record(
                    session,
                    self.actor,
                    "monitor.prune",
                    "monitoring",
                    {
                        "older_than_seconds": older_than.total_seconds(),
                        "predictions": predictions,
                        "feedback": feedback,
                        "windows": windows,
                    },
                )
            )
        return Pruned(predictions, feedback, windows, cutoff)

    def compact_monitoring(self, older_than: timedelta = KEEP_FINE) -> Compacted:
        """Fold monitor windows of whole hours older than ``older_than`` into hourly ones
        (the controller does it hourly; totals, drift and quality do not change)."""
        if older_than < timedelta(hours=1):
            raise InvalidInput("older_than must be at least 1h: recent windows are still written")
        from modelyard.monitoring.compaction import compact

        return compact(self, older_than)

    def report_serving(self, replica: str, statuses: dict[str, tuple[str | None, str]]) -> None:
        """A server process says what it serves per endpoint (and what failed to load)."""
        self.status.report(replica, statuses)

    def serving_status(self, endpoint: str) -> list[ReplicaStatus]:
        """What each live server process reported for ``endpoint``."""
        return self.status.list(endpoint)

    def create_key(
        self,
        scopes: list[str],
        *,
        endpoint: str | None = None,
        description: str = "",
        rate_limit: float | None = None,
        rate_burst: int | None = None,
    ) -> tuple[ApiKey, str]:
        """A new API key and its secret; the secret is returned once and never stored.
        ``rate_limit`` (requests/s per server process, 0: none) overrides the yard-wide
        ``MODELYARD_KEY_RATE_LIMIT``; ``rate_burst`` is what it may spend at once."""
        return self.keys.create(scopes, endpoint, description, self.actor, rate_limit, rate_burst)

    def list_keys(self) -> list[ApiKey]:
        return self.keys.list()

    def revoke_key(self, key_id: str) -> ApiKey:
        return self.keys.revoke(key_id, self.actor)

    # -- maintenance ----------------------------------------------------------------------

    def gc(self, *, dry_run: bool = True, grace_seconds: float | None = None) -> GcReport:
        """Find (and unless ``dry_run``, remove) blobs no row references and stale temp files."""
        grace = self.settings.gc_grace_seconds if grace_seconds is None else grace_seconds
        if grace < 0:
            raise InvalidInput(f"grace period must be >= 0 seconds, got {grace}")
        report = self.blobs.collect(dry_run=dry_run, grace_seconds=grace)
        if not dry_run and (report.orphan_blobs or report.temp_files):
            self.db.write(
                lambda s: audit_log.record(
                    s,
                    self.actor,
                    "gc",
                    "artifacts",
                    {
                        "blobs": len(report.orphan_blobs),
                        "temp_files": len(report.temp_files),
                        "bytes": report.bytes,
                    },
                )
            )
        return report

    def backup(self, path: str | Path, progress: Progress | None = None) -> BackupReport:
        """A consistent snapshot of the database plus every referenced blob, as .tar.gz."""
        return create_backup(self.db, self.blobs, Path(path), self.db.schema_revision(), progress)

    def restore(
        self,
        path: str | Path,
        *,
        trust_types: bool = False,
        trust_pickle: bool = False,
        trust_keys: bool = False,
        reissue_keys: bool = False,
        trust_commands: bool = False,
        trust_webhooks: bool = False,
        progress: Progress | None = None,
    ) -> RestoreReport:
        """Load a backup into this yard, which must be empty; every hash is verified.

        An archive is outside data: versions that would run code on load are refused, and
        keys, commands and webhooks are left out (and listed) unless a flag brings them in
        (``reissue_keys`` brings keys in with new secrets). See ``modelyard.yard.restore``.
        """
        from modelyard.yard.restore import RestoreFlags, restore_yard

        flags = RestoreFlags(
            trust_types=trust_types,
            trust_pickle=trust_pickle,
            trust_keys=trust_keys,
            reissue_keys=reissue_keys,
            trust_commands=trust_commands,
            trust_webhooks=trust_webhooks,
        )
        return restore_yard(self, Path(path), flags, progress)

    # -- tracking -------------------------------------------------------------------------

    def start_run(self, experiment: str = "default", name: str = "") -> ActiveRun:
        run_id = self.tracking.create_run(experiment, name, capture(self.actor), self.actor)
        return ActiveRun(self, run_id)

    def get_run(self, run_id: str) -> Run:
        return self.tracking.get_run(self.tracking.find_run(run_id))

    def list_runs(self, experiment: str | None = None, limit: int = 100) -> list[Run]:
        return self.tracking.list_runs(experiment, limit)

    # -- datasets -------------------------------------------------------------------------

    def add_dataset(self, path: str | Path, name: str, *, description: str = "") -> DatasetVersion:
        """Store a data file content-addressed; the same bytes again return the same version."""
        check_name(name, "dataset name")
        source = Path(path)
        from modelyard.tabular import table_format
        from modelyard.yard.datasets import describe_table

        fmt = table_format(source)
        rows, schema, profile = describe_table(source, self.settings.profile_bins)
        expected = sha256_file(source)
        token = new_token()
        self.blobs.reserve(token, [expected.sha256])
        try:
            blob = self.artifacts.put_file(source)
            if blob != expected:
                raise Conflict(f"{source} changed while it was being stored; try again")
            return self.datasets.create(
                name,
                sha256=blob.sha256,
                size=blob.size,
                rows=rows,
                fmt=fmt,
                schema=schema,
                profile=profile,
                source=str(source.name),
                description=description,
                actor=self.actor,
                reservation=token,
            )
        except BaseException:
            self.abandon(token, [expected.sha256])
            raise

    def get_dataset(self, ref: str) -> DatasetVersion:
        return self.datasets.get(*_split(ref))

    def list_datasets(self) -> list[DatasetVersion]:
        return self.datasets.list()

    def export_dataset(self, ref: str, out: str | Path) -> Path:
        dataset = self.get_dataset(ref)
        dest = Path(out)
        if dest.is_dir():
            dest = dest / f"{dataset.name}-v{dataset.version}.{dataset.format}"
        self.artifacts.copy_to(dataset.sha256, dest, f"dataset {dataset.ref}")
        return dest


@dataclasses.dataclass(frozen=True)
class Pruned:
    predictions: int
    feedback: int
    windows: int
    cutoff: datetime


def _split(ref: str) -> tuple[str, int | None]:
    name, version, alias = parse_ref(ref)
    if alias is not None:
        raise InvalidInput(f"datasets are referenced as name or name@version, not {ref!r}")
    return name, version


def _jsonable(values: Mapping[Any, Any], what: str) -> dict[str, Any]:
    import orjson

    try:
        return dict(
            orjson.loads(
                orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
            )
        )
    except TypeError as exc:
        raise InvalidInput(f"{what} must be JSON-serialisable: {exc}") from None


__all__ = ["Yard"]
