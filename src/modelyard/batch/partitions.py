"""Partitions of a batch job for a distributed engine, and the task that scores one.

Nothing here imports Dask: a partition is a plain description (a file URL and, of a Parquet
file, a run of row groups), and :func:`score_partition` is a plain function any engine can
run. A task never receives the model: it receives the yard's settings and the version's
file hashes, loads the model from the artifact store once per worker process (the loader
verifies every byte against its sha256) and keeps it for the job's later partitions.

Each partition writes one ``part-NNNNN.parquet`` under the output, streaming chunk by chunk,
so a worker's memory is bounded by the chunk size. The name depends only on the partition,
so a partition run again (its worker died) replaces its file: every row is written once.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from modelyard.batch.files import Writer, open_source
from modelyard.batch.scoring import MAX_REPORTED, BatchReport, PartitionScorer, check_columns
from modelyard.data_files import WILDCARDS, is_data, search_root
from modelyard.domain.signature import Signature
from modelyard.errors import IntegrityError, InvalidInput, NotFound
from modelyard.row_groups import row_group_runs
from modelyard.runtime.predictor import Predictor
from modelyard.runtime.runner import ModelRunner
from modelyard.tabular import table_format

if TYPE_CHECKING:
    from modelyard.config import Settings
    from modelyard.services.registry import Registry


class RegistryAndSettings(Protocol):
    """What a job is planned from: the registry to resolve the version, and the settings
    workers open the same yard with (``Services`` or the ``Yard`` facade)."""

    @property
    def registry(self) -> Registry: ...

    @property
    def settings(self) -> Settings: ...


READS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


@dataclass(frozen=True)
class ModelSpec:
    """A model version as a worker finds it: small and plain, so it travels anywhere."""

    settings: dict[str, Any]  # the yard's settings (database URL, artifact store)
    ref: str  # name@version, resolved once on the client: an alias moving changes nothing
    files: tuple[tuple[str, str], ...]  # (file name, sha256) of the version's artifacts


def model_spec(yard: RegistryAndSettings, ref: str) -> ModelSpec:
    """``ref`` resolved now, with the yard's settings (its home made absolute, for workers
    started elsewhere) and the version's file hashes."""
    version = yard.registry.get_version(ref)
    settings = yard.settings.model_copy(update={"home": Path(yard.settings.home).resolve()})
    return ModelSpec(
        settings.model_dump(mode="json"),
        version.ref,
        tuple((f.name, f.sha256) for f in version.files),
    )


@dataclass(frozen=True)
class Job:
    """What every task of one run shares."""

    model: ModelSpec
    dest: str  # the output folder's URL
    id_column: str | None
    on_error: str
    chunk_rows: int


@dataclass(frozen=True)
class Partition:
    index: int
    url: str
    name: str  # the file's name, in messages and reported problems
    start: int  # its first row's number in the file
    rows: int | None  # None: a CSV file, whose rows are only known once read
    row_groups: tuple[int, ...] | None = None


@dataclass
class PartitionReport:
    rows_in: int = 0
    rows_out: int = 0
    skipped: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)


def plan(
    url: str, signature: Signature, id_column: str | None, partition_rows: int
) -> list[Partition]:
    """The input's files (a glob, a folder or one file) cut into partitions of at most
    ``partition_rows`` rows (whole Parquet row groups; a CSV file is one partition), after
    checking each file has the columns the run needs."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    root = path
    if WILDCARDS & set(path):
        paths, root = sorted(fs.glob(path)), search_root(path)
    elif fs.isdir(path):
        paths = sorted(p for p in fs.find(path) if Path(p).suffix.lower() in READS)
    else:
        paths = [path] if fs.exists(path) else []
    paths = [p for p in paths if is_data(p, root)]
    if not paths:
        raise NotFound(f"{url}: no input file")
    partitions: list[Partition] = []
    for path in paths:
        name = Path(path).name
        file_url = fs.unstrip_protocol(path)
        with fs.open(path, "rb") as handle:
            source = open_source(handle, signature, id_column, name=name)
            check_columns(signature, source.columns, id_column)
            groups = _row_groups(handle) if table_format(Path(name)) == "parquet" else []
        if not groups:
            partitions.append(Partition(len(partitions), file_url, name, 0, None))
            continue
        start = 0
        for run in row_group_runs(groups, partition_rows):
            rows = sum(groups[i] for i in run)
            partitions.append(Partition(len(partitions), file_url, name, start, rows, run))
            start += rows
    return partitions


def _row_groups(handle: Any) -> list[int]:
    import pyarrow.parquet as pq

    handle.seek(0)
    metadata = pq.ParquetFile(handle).metadata
    return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def score_partition(job: Job, partition: Partition) -> PartitionReport:
    """Score one partition into its own Parquet file under ``job.dest`` (the task)."""
    import fsspec

    predictor, runner = worker_model(job.model)
    scorer = PartitionScorer(
        predictor, id_column=job.id_column, on_error=job.on_error, label=f"{partition.name}: "
    )
    report = BatchReport()
    fs, dest = fsspec.core.url_to_fs(job.dest)
    final = f"{dest}/{part_name(partition.index)}"
    local = "file" in fs.protocol
    # A local file appears whole (renamed when complete); an S3 object does by itself.
    target = f"{dest}/.{part_name(partition.index)}.{uuid.uuid4().hex}" if local else final
    try:
        with fs.open(partition.url, "rb") as handle, fs.open(target, "wb") as out:
            source = open_source(
                handle,
                predictor.signature,
                job.id_column,
                name=partition.name,
                row_groups=partition.row_groups,
            )
            writer = Writer(out, "parquet")
            start = partition.start
            for chunk in source.chunks(predictor.signature, job.chunk_rows, job.id_column):
                table = scorer.score_chunk(runner, chunk.features, chunk.ids, start, report)
                if table is not None:
                    writer.write(table)
                start += chunk.rows
            writer.finish(scorer.empty(source.id_type))
        if local:
            fs.mv(target, final)
    except BaseException:
        if local and fs.exists(target):
            fs.rm(target)
        raise
    problems = [{**p, "file": partition.name} for p in report.problems[:MAX_REPORTED]]
    return PartitionReport(report.rows_in, report.rows_out, report.skipped, problems)


_MODELS: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[Predictor, ModelRunner]] = {}
_LOADING = threading.Lock()


def worker_model(spec: ModelSpec) -> tuple[Predictor, ModelRunner]:
    """The model in this process, loaded from the artifact store on first use and kept,
    keyed by version and file hashes (a worker serves many tasks, maybe many jobs)."""
    key = (spec.ref, spec.files)
    with _LOADING:
        if key not in _MODELS:
            predictor = _load(spec)
            _MODELS[key] = (predictor, ModelRunner(predictor, native_threads=1))
        return _MODELS[key]


def _load(spec: ModelSpec) -> Predictor:
    from modelyard.config import Settings
    from modelyard.runtime.loader import load_version
    from modelyard.services.compose import open_services

    services = open_services(Settings.model_validate(spec.settings))
    try:
        version = services.registry.get_version(spec.ref)
        files = tuple((f.name, f.sha256) for f in version.files)
        if files != spec.files:
            raise IntegrityError(f"{spec.ref}: its files are not the ones the job was started with")
        return load_version(version, services.stores.artifacts)
    finally:
        services.close()


def check_output(url: str) -> None:
    """Refuse an output folder that holds anything: a run never mixes with another's."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    if fs.exists(path) and (fs.isfile(path) or fs.ls(path, detail=False)):
        from modelyard.errors import Conflict

        raise Conflict(f"{url} already exists; choose a new output folder")
    if Path(path).suffix.lower() == ".csv":
        raise InvalidInput(f"{url}: the dask engine writes a folder of Parquet files")
