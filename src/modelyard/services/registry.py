"""Registering models and reading the registry: versions, aliases, promotion, lineage."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.config import Settings
from modelyard.domain.entities import (
    AliasEvent,
    DatasetVersion,
    FileRef,
    Model,
    ModelVersion,
    VersionStatus,
)
from modelyard.domain.names import check_name, parse_dataset_ref, parse_ref
from modelyard.domain.values import check_key, check_mapping, check_metrics, check_text
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.provenance import capture
from modelyard.services.lineage import lineage_document
from modelyard.services.runs import ActiveRun
from modelyard.services.stores import reserved
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.blobs import BlobLedger
from modelyard.store.datasets import DatasetStore
from modelyard.store.db import Database
from modelyard.store.registry import NewVersion, RegistryStore
from modelyard.store.resolving import Resolved, resolve_many
from modelyard.store.tracking import NewRun, TrackingStore

if TYPE_CHECKING:  # the heavy half loads only when a method needs it
    import pandas as pd

    from modelyard.flavors import Flavor, SavedModel
    from modelyard.flavors.mlflow_schema import Declared
    from modelyard.runtime.predictor import Predictor
    from modelyard.services.promotion import Promotion
    from modelyard.validation.gate import GateReport, GateSettings

MAX_TAG = 5000
MAX_DESCRIPTION = 10_000


class Registry:
    """Models, their versions and aliases; what a version was trained on and with."""

    def __init__(
        self,
        db: Database,
        store: RegistryStore,
        artifacts: ArtifactStore,
        blobs: BlobLedger,
        runs: TrackingStore,
        datasets: DatasetStore,
        settings: Settings,
        actor: str,
    ) -> None:
        self.db, self.store, self.artifacts, self.blobs = db, store, artifacts, blobs
        self.runs, self.datasets = runs, datasets
        self.settings, self.actor = settings, actor

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
        features: Mapping[str, str] | None = None,
        code: Sequence[str | Path] | None = None,
        artifacts: Mapping[str, object] | None = None,
        holdout: tuple[object, object] | None = None,
    ) -> ModelVersion:
        """Save ``model`` as the next version of ``name`` with signature, profile and lineage
        (``features``: a kind per column over the inferred one, e.g. ``{"review": "text"}``).

        A ``modelyard.PythonModel`` comes with its ``code`` (.py files or package folders:
        trusted code, run on every load) and named ``artifacts`` (file paths, or registered
        models as ``name@alias`` / ``name:3``, fixed to the exact version now).
        ``holdout=(X, y)``: labelled rows from which the monitor estimates a classifier's
        accuracy, precision, recall, F1 and ROC AUC before live labels arrive."""
        from modelyard.flavors import detect_flavor

        check_name(name, "model name")
        flavor = detect_flavor(model)
        details: dict[str, Any] = {"trusted_types": trust_types}
        if code is None and not artifacts:
            saved = flavor.save(model, trust_types=trust_types)
        else:
            from modelyard.services.custom_models import save_custom

            if flavor.name != "python":
                raise InvalidInput("code= and artifacts= are for modelyard.PythonModel models")
            saved = save_custom(
                model, code or [], artifacts or {}, self.store.resolve, self.artifacts
            )
            details["custom_code"] = sorted(f for f in saved.files if f.startswith("code/"))
            details["artifacts"] = {
                n: a.get("ref", a.get("source")) for n, a in saved.meta["artifacts"].items()
            }
        return self.register_saved(
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
            features=features,
            holdout=holdout,
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
        features: Mapping[str, str] | None = None,
        holdout: tuple[object, object] | None = None,
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
        return self.register_saved(
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
            features=features,
            holdout=holdout,
        )

    def register_saved(
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
        run: ActiveRun | str | NewRun | None,
        audit_details: dict[str, Any],
        features: Mapping[str, str] | None = None,
        declared: Declared | None = None,
        provenance: dict[str, Any] | None = None,
        holdout: tuple[object, object] | None = None,
    ) -> ModelVersion:
        """Register what a flavor has saved: the common end of ``register``,
        ``register_file`` and ``import_mlflow``. A ``NewRun`` is written in the version's
        own transaction; ``provenance`` adds to what is captured of where it came from."""
        from modelyard.runtime.loader import REFERENCE_FILE
        from modelyard.services.registration import prepare, warn_without_reference
        from modelyard.tabular import read_table

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
        new_run = run.checked() if isinstance(run, NewRun) else None
        run_id = None if isinstance(run, NewRun) else self._run_id(run)
        if isinstance(sample, str | Path):
            sample = read_table(Path(sample))
        prepared = prepare(
            flavor,
            saved,
            sample,
            bins=self.settings.profile_bins,
            sample_rows=self.settings.reference_sample_rows,
            features=features,
            declared=declared,
            holdout=holdout,
        )
        contents = {**saved.files, **prepared.extra_files}
        if prepared.reference is not None:
            contents[REFERENCE_FILE] = prepared.reference
        hashes = {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}
        with reserved(self.blobs, list(hashes.values())) as token:
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
                provenance={
                    **capture(self.actor, {**flavor.libraries(), **saved.meta.get("packages", {})}),
                    **(provenance or {}),
                },
                run_id=run_id,
                datasets=dataset_refs,
                new_run=new_run,
            )
            created = self.store.create_version(new, self.actor, audit_details, token)
        if not prepared.profile:
            warn_without_reference(created.ref)
        return created

    def import_mlflow(
        self,
        path: str | Path,
        name: str | None = None,
        *,
        aliases: Iterable[str] = (),
        description: str = "",
        trust_types: bool = False,
        trust_pickle: bool = False,
    ) -> ModelVersion:
        """Register an MLflow model folder (``MLmodel``) without MLflow: its model file,
        signature and input example (the sample); its run when it sits in a local MLflow
        tracking folder. ``name`` defaults to the folder's; pickles only with
        ``trust_pickle``; ``aliases`` point at the new version."""
        from modelyard.services.mlflow_import import import_mlflow

        return import_mlflow(
            self,
            Path(path),
            name,
            aliases=aliases,
            description=description,
            trust_types=trust_types,
            trust_pickle=trust_pickle,
        )

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
        return self.runs.find_run(run)

    def get_version(self, ref: str, version: int | None = None) -> ModelVersion:
        return self.store.resolve(ref, version)

    def load(self, ref: str, version: int | None = None) -> Predictor:
        """A predictor for ``churn@production``, ``churn@3`` or ``churn`` (latest ready)."""
        from modelyard.runtime.loader import load_version

        return load_version(self.store.resolve(ref, version), self.artifacts)

    def resolve_many(self, refs: Iterable[str]) -> Resolved:
        """Each reference's version, or the error resolving it alone would raise; a
        constant number of queries however many (the serving table's refresh)."""
        return resolve_many(self.db, refs)

    def list_models(
        self, limit: int | None = None, offset: int = 0, contains: str | None = None
    ) -> list[Model]:
        """Models by name; with ``limit``, one page of them (``contains``: part of a name)."""
        return self.store.list_models(limit, offset, contains)

    def count_models(self, contains: str | None = None) -> int:
        return self.store.count_models(contains)

    def get_model(self, name: str) -> Model:
        return self.store.get_model(name)

    def list_versions(self, name: str) -> list[ModelVersion]:
        return self.store.list_versions(name)

    def profile(self, ref: str) -> dict[str, Any]:
        version = self.store.resolve(ref)
        return self.store.profile(version.name, version.version)

    def set_profile(
        self, ref: str, sample: object, *, replace: bool = False, reason: str = ""
    ) -> ModelVersion:
        """Give a version registered without a sample its reference profile (drift) and
        sample rows (the gate's data checks); ``replace`` swaps an existing one. Audited."""
        from modelyard.runtime.loader import REFERENCE_FILE, load_version
        from modelyard.services.registration import profile_later
        from modelyard.tabular import read_table

        version = self.store.resolve(ref)
        if version.checks_off is None and not replace:
            raise Conflict(
                f"{version.ref} already has a reference profile; pass --replace "
                "(replace=True) to swap it"
            )
        check_text(reason, "reason", MAX_DESCRIPTION)
        if isinstance(sample, str | Path):
            sample = read_table(Path(sample))
        profile, rows = profile_later(
            load_version(version, self.artifacts),
            sample,
            bins=self.settings.profile_bins,
            sample_rows=self.settings.reference_sample_rows,
        )
        if replace:  # the holdout's estimation reference is not the sample's to drop
            kept = self.store.profile(version.name, version.version).get("estimation")
            if kept is not None:
                profile["estimation"] = kept
        hashes = [hashlib.sha256(rows).hexdigest()] if rows is not None else []
        with reserved(self.blobs, hashes) as token:
            stored = None
            if rows is not None:
                blob = self.artifacts.put_bytes(rows)
                stored = FileRef(REFERENCE_FILE, blob.sha256, blob.size)
            return self.store.set_profile(
                version.name,
                version.version,
                profile,
                stored,
                self.actor,
                replace=replace,
                reason=reason,
                reservation=token,
            )

    def lineage(self, ref: str) -> dict[str, Any]:
        """version → run → datasets → code commit, as one JSON-friendly document."""
        version = self.store.resolve(ref)
        run = self.runs.get_run(version.run_id) if version.run_id else None
        datasets = [self.datasets.get(*parse_dataset_ref(d)) for d in version.datasets]
        return lineage_document(version, run, datasets)

    def set_alias(
        self, name: str, alias: str, version: int, *, reason: str = "", expect: int | None = None
    ) -> AliasEvent:
        return self.store.set_alias(name, alias, version, self.actor, reason, expect)

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
        from modelyard.services.promotion import promote

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
        from modelyard.services.promotion import judge

        return judge(self, name, version, alias, holdout=holdout, label=label, settings=settings)[0]

    def rollback(
        self, name: str, alias: str = "production", *, reason: str = "", expect: int | None = None
    ) -> AliasEvent:
        return self.store.rollback(name, alias, self.actor, reason, expect)

    def delete_alias(self, name: str, alias: str, *, reason: str = "") -> AliasEvent:
        return self.store.delete_alias(name, alias, self.actor, reason)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        return self.store.alias_history(name, alias)

    def archive(self, name: str, version: int, *, reason: str = "") -> ModelVersion:
        return self.store.set_status(name, version, VersionStatus.ARCHIVED, self.actor, reason)

    def unarchive(self, name: str, version: int, *, reason: str = "") -> ModelVersion:
        return self.store.set_status(name, version, VersionStatus.READY, self.actor, reason)

    def delete_version(self, name: str, version: int, *, reason: str = "") -> None:
        self.store.delete_version(name, version, self.actor, reason)


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
