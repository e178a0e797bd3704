"""The Dask batch engine: the input's partitions scored as tasks on a Dask cluster.

The client resolves the model reference once, checks every input file's columns, plans
the partitions (``batch/partitions.py``) and submits one task per partition; each task loads
the model in its worker from the verified artifact (never pickled through the scheduler)
and writes its own Parquet file. A worker that dies takes its running task with it; the
scheduler runs it again elsewhere (Dask's ``allowed-failures``), and the rerun replaces the
same file. With ``on_error="fail"`` the first bad row cancels the rest and removes the
output folder: nothing half-written stays.

Dask is imported only here, when the engine runs (``pip install 'modelyard[dask]'``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modelyard.batch.partitions import (
    Job,
    Partition,
    PartitionReport,
    check_output,
    model_spec,
    plan,
    score_partition,
)
from modelyard.batch.scoring import MAX_REPORTED, ON_ERROR, BatchReport
from modelyard.dask_cluster import dask_client, require_dask
from modelyard.domain.signature import Signature
from modelyard.errors import InvalidInput

if TYPE_CHECKING:
    from modelyard.batch.partitions import RegistryAndSettings

Progress = Callable[[int, int | None], None]
CANCEL_WAIT_SECONDS = 30


def score_dataset(
    yard: RegistryAndSettings,
    ref: str,
    source: str,
    dest: str,
    *,
    id_column: str | None = None,
    on_error: str = "fail",
    chunk_rows: int = 50_000,
    partition_rows: int = 1_000_000,
    scheduler: str | None = None,
    workers: int = 2,
    connect_seconds: float = 10.0,
    progress: Progress | None = None,
) -> BatchReport:
    """Score the files at ``source`` (a URL, a glob or a folder) into a folder of Parquet
    files at ``dest``, on the Dask cluster at ``scheduler`` or on a LocalCluster of
    ``workers`` single-threaded processes."""
    if on_error not in ON_ERROR:
        raise InvalidInput(f"on_error must be 'fail' or 'skip', got {on_error!r}")
    if chunk_rows < 1 or partition_rows < 1:
        raise InvalidInput("chunk and partition sizes must be at least 1 row")
    if workers < 1:
        raise InvalidInput(f"workers must be at least 1, got {workers}")
    require_dask()
    model = model_spec(yard, ref)
    signature = Signature.from_dict(yard.registry.get_version(model.ref).signature)
    check_output(dest)
    partitions = plan(source, signature, id_column, partition_rows)
    job = Job(
        model=model,
        dest=dest.rstrip("/"),
        id_column=id_column,
        on_error=on_error,
        chunk_rows=chunk_rows,
    )
    with dask_client(scheduler, workers, connect_seconds) as client:
        _make_folder(dest)
        return _run(client, job, partitions, progress)


def _run(
    client: Any, job: Job, partitions: list[Partition], progress: Progress | None
) -> BatchReport:
    from distributed import as_completed, wait

    run = uuid.uuid4().hex[:12]
    futures = [
        client.submit(score_partition, job, p, key=f"modelyard-score-{run}-{p.index}")
        for p in partitions
    ]
    sizes = [p.rows for p in partitions]
    total = None if None in sizes else sum(s or 0 for s in sizes)
    report = BatchReport()
    problems: list[dict[str, Any]] = []
    try:
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            part: PartitionReport = future.result()
            report.rows_in += part.rows_in
            report.rows_out += part.rows_out
            report.skipped += part.skipped
            problems += part.problems
            if progress is not None:
                progress(report.rows_in, total)
    except BaseException:
        client.cancel(futures)
        # a task already running on a worker is not stopped by cancel: let those end before
        # the output goes, or one finishing later writes its part into a removed folder
        with contextlib.suppress(Exception):
            wait(futures, timeout=CANCEL_WAIT_SECONDS)  # type: ignore[no-untyped-call]
        _remove(job.dest)
        raise
    order = {p.name: p.index for p in partitions}
    problems.sort(key=lambda p: (order.get(p["file"], 0), p["row"] or 0))
    report.problems = problems[:MAX_REPORTED]
    _mark_done(job.dest)
    return report


def _make_folder(url: str) -> None:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    fs.makedirs(path, exist_ok=True)


def _remove(url: str) -> None:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    if fs.exists(path):
        fs.rm(path, recursive=True)


def _mark_done(url: str) -> None:
    """``_SUCCESS``, as Spark and Hadoop jobs write: the folder is whole."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    for left in fs.glob(f"{path}/.part-*"):  # a dead worker's unfinished local file
        fs.rm(left)
    fs.pipe_file(f"{path}/_SUCCESS", b"")
