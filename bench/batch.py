"""Batch scoring of a file: ``modelyard predict`` against plain pandas, in the same run.

    .venv/bin/python bench/batch.py [--rows 10000000] [--runs 3] [--skip cli-parquet ...]
        [--only loop-parquet dask-parquet modelyard-parquet ...] [--workers 2]

Data (``bench/_batch_data.py``, fixed seed, no downloads): a churn-like table of 14 columns
(text id, 8 numeric features, 4 categorical ones, a free-text note with commas and quotes),
written once as CSV and Parquet under ``bench/.data/`` and reused, and a
``ColumnTransformer`` + ``HistGradientBoostingClassifier`` pipeline trained on 20,000 rows
of the same generator, saved with skops and registered in a yard next to the files.

Peers, each measured in a fresh process (``bench/_batch_worker.py``), every one writing the
id, the predicted class and both class probabilities:

- ``pandas-csv`` / ``pandas-parquet``: ``pd.read_csv`` (``read_parquet``) of the whole file,
  one ``predict_proba`` call (the class is its argmax), ``DataFrame.to_csv``
  (``to_parquet``); the model's native threads are left at their defaults.
- ``modelyard-csv`` / ``modelyard-parquet``: ``score_file`` (what ``modelyard predict``
  runs) in process, CSV → CSV and Parquet → Parquet, 50,000-row chunks.
- ``script-csv`` / ``script-parquet``: the pandas peer as a Python script in a child
  process, timed from outside: interpreter start, imports, loading the skops file, the work.
- ``cli-csv`` / ``cli-parquet``: the ``modelyard predict`` command as a child process,
  timed from outside: interpreter start, imports, loading the model from the yard, scoring.
- ``loop-parquet``: a plain pandas loop over the Parquet file's batches (``--chunk-rows``):
  ``to_pandas`` → ``predict_proba`` → append to one Parquet file.
- ``dask-parquet``: ``score_dataset`` (``modelyard predict --engine dask``) on a LocalCluster
  of ``--workers`` single-threaded processes (started untimed; the workers load the model
  inside the timed work), ``--partition-rows`` per task (whole row groups: the files are
  written with 100,000-row groups), a folder of Parquet parts out. Its peak RSS is given per
  process: the client's, and each worker's (reset before the work). A worker's peak is
  bounded by its partition and chunk, not by the file: compare two ``--rows``.

Each peer first runs once unmeasured (``--warmup``): it fills the page cache with the input
and lets Python cache the bytecode of what it imports. Then peers are interleaved, their
order rotated from run to run; the table gives medians with their range, the ratio of the
medians for the same format (score_file ÷ pandas in process, the CLI ÷ the pandas script),
and the peak RSS during the work (in process: the worker's ``VmHWM`` after a reset; the
processes: the child's whole-process peak). Every run goes to ``bench/results/batch.json``
(``batch-ROWS.json`` for another ``--rows``). No time is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from _batch_data import DATA_VERSION, ensure
from registry import _tail, machine
from serve_peers.common import machine_busy_seconds

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORKER = BENCH / "_batch_worker.py"
DATA = BENCH / ".data"
RESULTS = BENCH / "results"
FULL_ROWS = 10_000_000  # issue 17; RESULTS.md's earlier table is --rows 1000000
PEERS = (
    *(
        f"{kind}-{fmt}"
        for fmt in ("csv", "parquet")
        for kind in ("pandas", "script", "modelyard", "cli")
    ),
    "loop-parquet",
    "dask-parquet",
)
# what each is compared with
BASE = {"modelyard": "pandas", "cli": "script", "loop": "pandas", "dask": "pandas"}
TITLES = {
    "pandas-csv": "pandas: read_csv → predict_proba → to_csv",
    "modelyard-csv": "modelyard score_file, CSV → CSV",
    "script-csv": "the same pandas code as a script (process, imports, model load)",
    "cli-csv": "modelyard predict (CLI process), CSV → CSV",
    "pandas-parquet": "pandas: read_parquet → predict_proba → to_parquet",
    "modelyard-parquet": "modelyard score_file, Parquet → Parquet",
    "script-parquet": "the same pandas code as a script (process, imports, model load)",
    "cli-parquet": "modelyard predict (CLI process), Parquet → Parquet",
    "loop-parquet": "a plain pandas loop: batch → predict_proba → append, Parquet",
    "dask-parquet": "modelyard --engine dask, LocalCluster, Parquet → Parquet parts",
}
WORKER_TIMEOUT = 1800
METRICS = (
    "work_s",
    "cpu_s",
    "peak_work_mib",
    "peak_worker_mib",
    "rss_before_mib",
    "other_cpu_s",
    "load1",
)


def say(message: str) -> None:
    print(f"[batch] {message}", flush=True)


class MeasurementError(RuntimeError):
    pass


def measure(
    peer: str, data: Path, scratch: Path, index: int, args: argparse.Namespace
) -> dict[str, Any]:
    fmt = peer.split("-")[1]
    result_file = scratch / f"{peer}-{index}.json"
    command = [sys.executable, str(WORKER), peer, "--data", str(data)]
    out = scratch / (f"{peer}-{index}" if peer.startswith("dask") else f"{peer}-{index}.{fmt}")
    command += ["--out-file", str(out)]
    command += ["--result", str(result_file), "--chunk-rows", str(args.chunk_rows)]
    command += ["--workers", str(args.workers), "--partition-rows", str(args.partition_rows)]
    # Bytecode is cached as on any installed system (an environment that forbids writing it
    # makes every process compile its imports again: ~8 s of the CLI's run here).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MODELYARD_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    load1 = os.getloadavg()[0]
    busy_before = machine_busy_seconds()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(
            command,
            cwd=BENCH,
            env=env,
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise MeasurementError(f"{peer}: no result within {WORKER_TIMEOUT} s") from None
    busy = machine_busy_seconds() - busy_before
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (
        children.ru_utime - children_before.ru_utime + children.ru_stime - children_before.ru_stime
    )
    if done.returncode != 0 or not result_file.exists():
        raise MeasurementError(f"{peer} worker exited {done.returncode}: {_tail(done.stderr)}")
    result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    result_file.unlink()
    result["load1"] = load1
    # CPU the rest of the machine used meanwhile: more than a few seconds means another
    # process competed for the cores, and the run is suspect.
    result["other_cpu_s"] = max(busy - own, 0.0)
    return result


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"runs": len(runs)}
    for metric in METRICS:
        values = [r[metric] for r in runs if r.get(metric) is not None]
        if values:
            summary[metric] = {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
            }
    return summary


def same_output(runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Differences between peers' outputs (rows, ids, predicted classes, probabilities)."""
    problems = []
    outputs = {peer: r[0]["output"] for peer, r in runs.items() if r}
    if not outputs:
        return problems
    base_peer, base = next(iter(outputs.items()))
    for peer, out in outputs.items():
        for key in ("rows", "first_ids", "last_ids", "positives"):
            if out[key] != base[key]:
                problems.append(f"{peer} {key} {out[key]!r} != {base_peer} {base[key]!r}")
        if abs(out["probability_1_sum"] - base["probability_1_sum"]) > 1e-6 * base["rows"]:
            problems.append(
                f"{peer} probability_1 sum {out['probability_1_sum']} != {base_peer} "
                f"{base['probability_1_sum']}"
            )
    return problems


def fmt_range(s: dict[str, float] | None, digits: int) -> str:
    if s is None:
        return "n/a"
    if s["min"] == s["max"]:
        return f"{s['median']:,.{digits}f}"
    return f"{s['median']:,.{digits}f} [{s['min']:,.{digits}f}–{s['max']:,.{digits}f}]"


def ratios(summaries: dict[str, dict[str, Any]]) -> dict[str, float]:
    """modelyard / pandas of the median times (below 1: modelyard is faster): score_file
    against pandas in process, the CLI against the pandas script, both whole processes."""
    out = {}
    for peer in summaries:
        kind, fmt = peer.split("-")
        base = summaries.get(f"{BASE.get(kind)}-{fmt}")
        if base is not None:
            out[peer] = summaries[peer]["work_s"]["median"] / base["work_s"]["median"]
    return out


def table(summaries: dict[str, dict[str, Any]], rows: int) -> str:
    lines = [
        "| peer | seconds, median [range] | rows/s | CPU s | peak RSS MiB | peak per Dask "
        "worker MiB | ÷ pandas (time) | other CPU s | runs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratio = ratios(summaries)
    for peer in PEERS:
        s = summaries.get(peer)
        if s is None:
            continue
        median = s["work_s"]["median"]
        times = f"{ratio[peer]:.2f}" if peer in ratio else "—"
        lines.append(
            f"| {TITLES[peer]} | {fmt_range(s['work_s'], 2)} | {rows / median:,.0f} | "
            f"{fmt_range(s.get('cpu_s'), 1)} | {fmt_range(s.get('peak_work_mib'), 0)} | "
            f"{fmt_range(s.get('peak_worker_mib'), 0) if 'peak_worker_mib' in s else '—'} | "
            f"{times} | {fmt_range(s.get('other_cpu_s'), 1)} | {s['runs']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=FULL_ROWS, help="rows in the file (10M)")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per peer (3)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded runs per peer first")
    parser.add_argument("--chunk-rows", type=int, default=50_000, help="modelyard's chunk")
    parser.add_argument("--workers", type=int, default=2, help="Dask LocalCluster workers (2)")
    parser.add_argument(
        "--partition-rows", type=int, default=1_000_000, help="Dask: rows per task (1M)"
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=PEERS, help="peers to leave out")
    parser.add_argument("--only", nargs="*", default=[], choices=PEERS, help="run just these")
    parser.add_argument("--out", type=Path, default=None, help="where the JSON goes")
    args = parser.parse_args()
    if args.runs < 1 or args.rows < 1 or args.warmup < 0:
        parser.error("--runs and --rows must be at least 1, --warmup at least 0")
    out_file = args.out or RESULTS / (
        "batch.json" if args.rows == FULL_ROWS else f"batch-{args.rows}.json"
    )

    say(f"machine: {machine()}; load average {os.getloadavg()}")
    data = DATA / f"batch-v{DATA_VERSION}-{args.rows}"
    files = ensure(data, args.rows, say)
    order = [p for p in PEERS if p not in args.skip and (not args.only or p in args.only)]
    runs: dict[str, list[dict[str, Any]]] = {p: [] for p in order}
    with tempfile.TemporaryDirectory(prefix="modelyard-batch-bench-") as tmp:
        schedule = [("warm-up", i) for i in range(args.warmup)]
        schedule += [("run", i) for i in range(args.runs)]
        for kind, index in schedule:
            turn = order[index % len(order) :] + order[: index % len(order)]
            for peer in turn:
                started = time.perf_counter()
                result = measure(peer, data, Path(tmp), index, args)
                if kind == "run":
                    runs[peer].append(result)
                say(
                    f"{kind} {index + 1} {peer:17} work {result['work_s']:7.2f} s  "
                    f"cpu {result['cpu_s']:6.1f} s  peak {result['peak_work_mib']:6.0f} MiB  "
                    + (
                        f"workers {result['peak_worker_mib']:6.0f} MiB  "
                        if "peak_worker_mib" in result
                        else ""
                    )
                    + f"process {time.perf_counter() - started:5.1f} s  load1 {result['load1']:.2f}"
                    f"  other cpu {result['other_cpu_s']:.1f} s"
                )

    summaries = {peer: summarise(r) for peer, r in runs.items() if r}
    differences = same_output(runs)
    print()
    print(
        f"batch bench: {args.rows:,} rows, {files['csv'].stat().st_size / 2**20:.0f} MiB CSV / "
        f"{files['parquet'].stat().st_size / 2**20:.0f} MiB Parquet; runs per peer "
        + ", ".join(f"{p} {len(r)}" for p, r in runs.items())
    )
    print(table(summaries, args.rows))
    for peer, value in ratios(summaries).items():
        kind, fmt = peer.split("-")
        print(f"{peer} / {BASE[kind]}-{fmt}: {value:.2f}")
    print("outputs agree" if not differences else "OUTPUTS DIFFER: " + "; ".join(differences))

    report = {
        "benchmark": "batch",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python bench/batch.py", *sys.argv[1:]]),
        "machine": machine(),
        "rows": args.rows,
        "chunk_rows": args.chunk_rows,
        "dask_workers": args.workers,
        "partition_rows": args.partition_rows,
        "data": {k: str(v.relative_to(ROOT)) for k, v in files.items()},
        "versions": {
            n: metadata.version(n)
            for n in ("modelyard", "pandas", "pyarrow", "numpy", "scikit-learn", "distributed")
        },
        "order": "interleaved, rotated per run: " + ", ".join(order),
        "warmup_per_peer": args.warmup,
        "summaries": summaries,
        "ratio_modelyard_over_pandas": ratios(summaries),
        "output_differences": differences,
        "runs": runs,
    }
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"written {out_file.relative_to(ROOT) if out_file.is_relative_to(ROOT) else out_file}")
    return 0 if not differences else 1


if __name__ == "__main__":
    sys.exit(main())
