"""Training runs (params, metrics, artifacts) and versioned, content-addressed datasets."""

from __future__ import annotations

from pathlib import Path

from modelyard.config import Settings
from modelyard.domain.entities import DatasetVersion, Run
from modelyard.domain.names import check_name, parse_dataset_ref
from modelyard.provenance import capture
from modelyard.services.runs import ActiveRun
from modelyard.services.stores import put_unchanged, reserved
from modelyard.store.artifacts import ArtifactStore, sha256_file
from modelyard.store.blobs import BlobLedger
from modelyard.store.datasets import DatasetStore
from modelyard.store.tracking import TrackingStore


class Tracking:
    """What a model was trained with: runs and the datasets they read."""

    def __init__(
        self,
        runs: TrackingStore,
        datasets: DatasetStore,
        artifacts: ArtifactStore,
        blobs: BlobLedger,
        settings: Settings,
        actor: str,
    ) -> None:
        self.runs, self.datasets, self.artifacts, self.blobs = runs, datasets, artifacts, blobs
        self.settings, self.actor = settings, actor

    def start_run(self, experiment: str = "default", name: str = "") -> ActiveRun:
        run_id = self.runs.create_run(experiment, name, capture(self.actor), self.actor)
        return ActiveRun(self.runs, self.blobs, self.artifacts, self.actor, run_id)

    def get_run(self, run_id: str) -> Run:
        return self.runs.get_run(self.runs.find_run(run_id))

    def list_runs(self, experiment: str | None = None, limit: int = 100) -> list[Run]:
        return self.runs.list_runs(experiment, limit)

    def add_dataset(self, path: str | Path, name: str, *, description: str = "") -> DatasetVersion:
        """Store a data file content-addressed; the same bytes again return the same version."""
        check_name(name, "dataset name")
        source = Path(path)
        from modelyard.services.datasets import describe_table
        from modelyard.tabular import table_format

        fmt = table_format(source)
        rows, schema, profile = describe_table(source, self.settings.profile_bins)
        expected = sha256_file(source)
        with reserved(self.blobs, [expected.sha256]) as token:
            blob = put_unchanged(self.artifacts, source, expected)
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

    def get_dataset(self, ref: str) -> DatasetVersion:
        return self.datasets.get(*parse_dataset_ref(ref))

    def list_datasets(self) -> list[DatasetVersion]:
        return self.datasets.list()

    def export_dataset(self, ref: str, out: str | Path) -> Path:
        dataset = self.get_dataset(ref)
        dest = Path(out)
        if dest.is_dir():
            dest = dest / f"{dataset.name}-v{dataset.version}.{dataset.format}"
        self.artifacts.copy_to(dataset.sha256, dest, f"dataset {dataset.ref}")
        return dest
