"""One batch-scoring measurement in a fresh process, for ``bench/batch.py``.

    python bench/_batch_worker.py PEER --data DIR --out-file OUT --result RESULT.json

PEER is ``pandas-csv`` / ``pandas-parquet`` (read the whole file with pandas, one
``predict_proba`` call, write with pandas), ``script-csv`` / ``script-parquet`` (the same
as a Python script in a child process: interpreter start, imports and loading the model
included, timed from outside), ``modelyard-csv`` / ``modelyard-parquet``
(``modelyard.batch.local.score_file``, in process) or ``cli-csv`` / ``cli-parquet`` (the
``modelyard predict`` command as a child process, timed from outside).

Untimed: imports and loading the model (pandas peers: the skops file; modelyard: the
registered version from the yard). Then the peak-RSS mark of this process is reset
(``/proc/self/clear_refs``), the work is timed, and the peak RSS during it is read back
(``VmHWM``). After that, untimed, the output file is read back and summarised so the
orchestrator can check that every peer wrote the same predictions.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _batch_data import CATEGORICAL, ID, MODEL_NAME, NUMERIC
from _drift_worker import cpu_seconds, mib, reset_peak, status_kib


def pandas_peer(fmt: str, data: Path, out: Path) -> Callable[[], None]:
    """What a user writes by hand: the whole file in memory, one model call, one write."""
    import numpy as np
    import pandas as pd
    import skops.io as sio

    model_file = data / "model.skops"
    model = sio.load(model_file, trusted=sio.get_untrusted_types(file=model_file))
    features = [*NUMERIC, *CATEGORICAL]
    source = data / f"rows.{fmt}"
    gc.collect()

    def work() -> None:
        frame = pd.read_csv(source) if fmt == "csv" else pd.read_parquet(source)
        proba = model.predict_proba(frame[features])
        result = pd.DataFrame(
            {
                ID: frame[ID],
                "prediction": model.classes_[np.argmax(proba, axis=1)],
                **{f"probability_{c}": proba[:, i] for i, c in enumerate(model.classes_)},
            }
        )
        if fmt == "csv":
            result.to_csv(out, index=False)
        else:
            result.to_parquet(out, index=False)

    return work


def modelyard_peer(fmt: str, data: Path, out: Path, chunk_rows: int) -> Callable[[], None]:
    from modelyard import Yard
    from modelyard.batch.local import score_file

    with Yard(data / "home") as yard:
        predictor = yard.load(f"{MODEL_NAME}@1")
    source = data / f"rows.{fmt}"
    gc.collect()

    def work() -> None:
        score_file(predictor, source, out, id_column=ID, chunk_rows=chunk_rows)

    return work


def loop_peer(fmt: str, data: Path, out: Path, chunk_rows: int) -> Callable[[], None]:
    """A plain pandas loop: the file's batches one by one, predict, append to the output."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import skops.io as sio

    model_file = data / "model.skops"
    model = sio.load(model_file, trusted=sio.get_untrusted_types(file=model_file))
    features = [*NUMERIC, *CATEGORICAL]
    source = data / f"rows.{fmt}"
    gc.collect()

    def work() -> None:
        writer = None
        for batch in pq.ParquetFile(source).iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            proba = model.predict_proba(frame[features])
            result = pa.table(
                {
                    ID: frame[ID],
                    "prediction": model.classes_[np.argmax(proba, axis=1)],
                    **{f"probability_{c}": proba[:, i] for i, c in enumerate(model.classes_)},
                }
            )
            writer = writer or pq.ParquetWriter(out, result.schema)
            writer.write_table(result)
        if writer is not None:
            writer.close()

    return work


def dask_peer(
    data: Path, out: Path, chunk_rows: int, workers: int, partition_rows: int
) -> tuple[Callable[[], None], Any]:
    """``modelyard predict --engine dask`` in process, on a LocalCluster of ``workers``
    single-threaded processes started (untimed) before the work; the workers load the model
    inside the timed work (their first task), as they would on any cluster."""
    import distributed

    from modelyard import Yard
    from modelyard.batch.on_dask import score_dataset

    cluster = distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yard = Yard(data / "home")
    source = data / "rows.parquet"
    gc.collect()

    def work() -> None:
        score_dataset(
            yard,
            f"{MODEL_NAME}@1",
            str(source),
            str(out),
            id_column=ID,
            chunk_rows=chunk_rows,
            partition_rows=partition_rows,
            scheduler=cluster.scheduler_address,
        )

    return work, (cluster, client, yard)


def worker_usage() -> dict[str, float | None]:
    """Run in each Dask worker: its CPU seconds and peak RSS (since the last reset)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": cpu_seconds(usage), "peak_mib": mib(status_kib("VmHWM"))}


def child_command(kind: str, fmt: str, data: Path, out: Path, chunk_rows: int) -> list[str]:
    if kind == "script":
        code = (
            "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
            "from _batch_worker import pandas_peer; "
            "pandas_peer(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))()"
        )
        here = str(Path(__file__).resolve().parent)
        return [sys.executable, "-c", code, here, fmt, str(data), str(out)]
    executable = Path(sys.executable).parent / "modelyard"
    command = [str(executable), "--home", str(data / "home"), "predict", f"{MODEL_NAME}@1"]
    command += ["--input", str(data / f"rows.{fmt}"), "--output", str(out)]
    command += ["--id-column", ID, "--chunk-rows", str(chunk_rows), "--json"]
    return command


def run_child(kind: str, fmt: str, data: Path, out: Path, chunk_rows: int) -> dict[str, Any]:
    """A whole process, timed from outside; its peak RSS is the child's maximum."""
    command = child_command(kind, fmt, data, out, chunk_rows)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{kind} exited {done.returncode}: {done.stderr[-2000:]}")
    return {
        "work_s": wall,
        "cpu_s": cpu_seconds(usage),
        "peak_work_mib": usage.ru_maxrss / 1024,
        "peak_process_mib": usage.ru_maxrss / 1024,
        "rss_before_mib": None,
        "report": json.loads(done.stdout) if kind == "cli" else None,
    }


def summary(out: Path, fmt: str) -> dict[str, Any]:
    """Enough of the output to tell whether two peers wrote the same predictions."""
    import pandas as pd

    frame = pd.read_csv(out, dtype={ID: str}) if fmt == "csv" else pd.read_parquet(out)
    if out.is_dir():  # the Dask engine's folder of parts, in the input's order
        frame = frame.sort_values(ID, kind="stable").reset_index(drop=True)
    return {
        "rows": len(frame),
        "columns": list(frame.columns),
        "dtypes": {c: str(t) for c, t in frame.dtypes.items()},
        "first_ids": frame[ID].head(3).tolist(),
        "last_ids": frame[ID].tail(3).tolist(),
        "positives": int((frame["prediction"] == 1).sum()),
        "probability_1_sum": float(frame["probability_1"].sum()),
        "bytes": sum(p.stat().st_size for p in out.iterdir())
        if out.is_dir()
        else out.stat().st_size,
    }


def measure(
    peer: str, data: Path, out: Path, chunk_rows: int, workers: int, partition_rows: int
) -> dict[str, Any]:
    kind, fmt = peer.split("-")
    held: Any = None
    if kind in ("cli", "script"):
        result = run_child(kind, fmt, data, out, chunk_rows)
    else:
        if kind == "pandas":
            work = pandas_peer(fmt, data, out)
        elif kind == "loop":
            work = loop_peer(fmt, data, out, chunk_rows)
        elif kind == "dask":
            work, held = dask_peer(data, out, chunk_rows, workers, partition_rows)
            held[1].run(reset_peak)
            workers_before = held[1].run(worker_usage)
        else:
            work = modelyard_peer(fmt, data, out, chunk_rows)
        rss_before = status_kib("VmRSS")
        peak_reset = reset_peak()
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        work()
        work_s = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        hwm = status_kib("VmHWM")
        result = {
            "work_s": work_s,
            "cpu_s": cpu_seconds(after) - cpu_seconds(before),
            "rss_before_mib": mib(rss_before),
            "peak_work_mib": mib(hwm if peak_reset and hwm is not None else after.ru_maxrss),
            "peak_process_mib": after.ru_maxrss / 1024,
            "peak_reset": peak_reset,
        }
        if held is not None:  # the Dask workers: each process's peak, their CPU too
            cluster, client, yard = held
            after_workers = client.run(worker_usage)
            result["worker_peak_mib"] = [u["peak_mib"] for u in after_workers.values()]
            result["peak_worker_mib"] = max(result["worker_peak_mib"])
            result["client_cpu_s"] = result["cpu_s"]
            result["cpu_s"] += sum(
                u["cpu_s"] - workers_before[w]["cpu_s"] for w, u in after_workers.items()
            )
            client.close()
            cluster.close()
            yard.close()
    result["peer"] = peer
    result["output"] = summary(out, fmt)
    if out.is_dir():
        shutil.rmtree(out)
    else:
        out.unlink()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "peer",
        choices=[
            *(
                f"{k}-{f}"
                for k in ("pandas", "script", "modelyard", "cli")
                for f in ("csv", "parquet")
            ),
            "loop-parquet",
            "dask-parquet",
        ],
    )
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out-file", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partition-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    result = measure(
        args.peer, args.data, args.out_file, args.chunk_rows, args.workers, args.partition_rows
    )
    result["pid"] = os.getpid()
    args.result.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":  # the Dask workers are spawned processes: they import this
    sys.exit(main())
