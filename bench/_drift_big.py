"""``bench/drift.py --partitioned``: the drift gate on partitioned Parquet bigger than memory.

    .venv/bin/python bench/drift.py --partitioned --rows 100000000   # ~14 GB per table

Data: a reference and a current folder of ``part-NNNNN.parquet`` files of ``--file-rows``
rows each (row groups of 250,000), the 25 columns of ``drift.make_frame`` with a seed per
file, so generation holds one file's rows at a time and can resume where it stopped
(a finished folder has ``_COMPLETE``).

Measured, each in its own process, started by this one and watched every 0.2 s: ``modelyard
drift --json`` on the local engine and on Dask (a LocalCluster of ``--workers`` processes),
end to end; the scipy loop script and Evidently (``bench/_drift_worker.py``) when both
tables fit in pandas in the memory cap, else "out of memory" with the estimate, or killed
at the cap. Peak memory is the peak of the summed RSS of the process and all its
descendants (the Dask scheduler, nanny and worker processes count). Rows/s counts the rows
of both tables read.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PANDAS_BYTES_PER_ROW = 223  # make_frame's DataFrame, deep memory_usage per row (measured)
ROW_GROUP_ROWS = 250_000
POLL_SECONDS = 0.2


def say(message: str) -> None:
    print(f"[drift --partitioned] {message}", flush=True)


def generate(
    folder: Path, rows: int, file_rows: int, seed: int, shifted: bool, make_frame: Any
) -> Path:
    """``folder`` of Parquet parts holding ``rows`` rows, written one file at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    done = folder / "_COMPLETE"
    if done.exists() and json.loads(done.read_text())["rows"] == rows:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    files = (rows + file_rows - 1) // file_rows
    for index in range(files):
        path = folder / f"part-{index:05d}.parquet"
        if path.exists():
            continue
        count = min(file_rows, rows - index * file_rows)
        frame = make_frame(count, seed * 100_003 + index, shifted)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        del frame
        partial = path.with_suffix(".partial")
        pq.write_table(table, partial, row_group_size=ROW_GROUP_ROWS)
        partial.replace(path)
        del table
        if index % 10 == 9 or index == files - 1:
            say(f"{folder.name}: {index + 1}/{files} files ({time.perf_counter() - started:.0f} s)")
    done.write_text(json.dumps({"rows": rows, "file_rows": file_rows, "seed": seed}))
    return folder


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            statm = (entry / "statm").read_text().split()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        rss[int(entry.name)] = int(statm[1]) * page
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo += children.get(current, [])
    return total


def available_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def watched(command: list[str], cap: int, timeout: float, env: dict[str, str]) -> dict[str, Any]:
    """Run ``command`` in its own process group; its tree's peak RSS; killed past ``cap``."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    peak, killed = 0, None
    texts: dict[str, str] = {}

    def drain(name: str, stream: Any) -> None:
        texts[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=(name, stream), daemon=True)
        for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr))
    ]
    for reader in readers:
        reader.start()
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        elapsed = time.perf_counter() - started
        if peak > cap or elapsed > timeout:
            killed = "out of memory" if peak > cap else "timeout"
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            break
        time.sleep(POLL_SECONDS)
    wall = time.perf_counter() - started
    for reader in readers:
        reader.join(timeout=10)
    return {
        "wall_s": wall,
        "peak_tree_mib": peak / 2**20,
        "code": proc.returncode,
        "killed": killed,
        "stdout": texts.get("stdout", ""),
        "stderr": texts.get("stderr", ""),
    }


def run(
    args: Any,
    make_frame: Any,
    data: Path,
    modelyard: Path,
    env: dict[str, str],
    evidently: Callable[[], tuple[Path | None, str | None]],
    worker: Path,
) -> int:
    rows, ref_rows = args.rows, args.reference_rows or args.rows
    folder = data / f"drift-parts-v1-{ref_rows}-{rows}-{args.file_rows}-seed{args.seed}"
    reference = generate(
        folder / "reference", ref_rows, args.file_rows, args.seed, False, make_frame
    )
    current = generate(folder / "current", rows, args.file_rows, args.seed + 1, True, make_frame)
    disk = sum(p.stat().st_size for p in folder.rglob("*.parquet")) / 2**30
    total_rows = rows + ref_rows
    cap = int(min(args.peer_memory_gib * 2**30, 0.8 * available_bytes()))
    say(
        f"data {folder.name}: {disk:.1f} GiB of Parquet; memory cap for peers {cap / 2**30:.1f} GiB"
    )
    results: dict[str, Any] = {}
    reports: dict[str, str] = {}
    for run_index in range(args.runs):
        for engine in args.engines:
            command = [str(modelyard), "drift", "-r", str(reference), "-c", str(current), "--json"]
            command += ["--engine", engine]
            if engine == "dask":
                command += ["--workers", str(args.workers)]
            done = watched(command, 2**62, args.timeout, env)
            if done["code"] not in (0, 1):
                raise SystemExit(f"modelyard {engine} failed: {done['stderr'][-2000:]}")
            report = json.loads(done["stdout"])
            reports[engine] = done["stdout"]
            entry = {
                "wall_s": done["wall_s"],
                "peak_tree_mib": done["peak_tree_mib"],
                "rows_per_s": total_rows / done["wall_s"],
                "flagged": report["drifted_features"],
                "exit_code": done["code"],
            }
            results.setdefault(f"modelyard-{engine}", []).append(entry)
            say(
                f"run {run_index + 1} modelyard {engine}: {done['wall_s']:.1f} s, peak "
                f"{done['peak_tree_mib']:.0f} MiB, {entry['rows_per_s']:,.0f} rows/s, "
                f"flags {', '.join(report['drifted_features'])}"
            )
    skipped: dict[str, str] = {}
    need = total_rows * PANDAS_BYTES_PER_ROW
    for peer in args.peers:
        if need > cap:
            skipped[peer] = (
                f"out of memory: both tables in pandas need about {need / 2**30:.1f} GiB "
                f"(before any work), over the {cap / 2**30:.1f} GiB cap; not started"
            )
            say(f"{peer}: {skipped[peer]}")
            continue
        python: Path | None = Path(sys.executable)
        if peer == "evidently":
            python, problem = evidently()
            if python is None:
                skipped[peer] = f"unavailable: {problem}"
                continue
        out = folder / f"{peer}.json"
        command = [str(python), str(worker), peer, "--reference", str(reference)]
        command += ["--current", str(current), "--out", str(out)]
        done = watched(command, cap, args.timeout, env)
        if done["killed"]:
            skipped[peer] = (
                f"{done['killed']}: killed at {done['peak_tree_mib']:.0f} MiB after "
                f"{done['wall_s']:.0f} s (cap {cap / 2**30:.1f} GiB)"
            )
        elif done["code"] != 0:
            skipped[peer] = f"failed (exit {done['code']}): {done['stderr'][-300:]}"
        else:
            result = json.loads(out.read_text())
            out.unlink()
            flagged = [n for n, c in result["result"]["columns"].items() if c["drift"]]
            results[peer] = [
                {
                    "wall_s": done["wall_s"],
                    "peak_tree_mib": done["peak_tree_mib"],
                    "rows_per_s": total_rows / done["wall_s"],
                    "flagged": flagged,
                }
            ]
        took = skipped.get(peer) or "{:.1f} s".format(done["wall_s"])
        say(f"{peer}: {took}")
    same = len(set(reports.values())) <= 1
    print()
    print(
        f"drift, partitioned Parquet: {ref_rows:,} reference rows vs {rows:,} current rows, "
        f"25 columns, {disk:.1f} GiB on disk; load average before {os.getloadavg()[0]:.1f}"
    )
    print("| tool | wall s (median) | peak RSS of the process tree MiB | rows/s (both tables) |")
    print("|---|---:|---:|---:|")
    for tool, entries in results.items():
        walls = sorted(e["wall_s"] for e in entries)
        peaks = sorted(e["peak_tree_mib"] for e in entries)
        wall, peak = walls[len(walls) // 2], peaks[-1]
        print(f"| {tool} | {wall:.1f} | {peak:,.0f} | {total_rows / wall:,.0f} |")
    for tool, why in skipped.items():
        print(f"| {tool} | {why} | | |")
    if len(reports) > 1:
        print(f"\nlocal and dask JSON reports identical: {same}")
    summary = {
        "benchmark": "drift-partitioned",
        "command": " ".join([".venv/bin/python bench/drift.py", *sys.argv[1:]]),
        "rows": rows,
        "reference_rows": ref_rows,
        "file_rows": args.file_rows,
        "disk_gib": disk,
        "memory_cap_gib": cap / 2**30,
        "loadavg": os.getloadavg(),
        "results": results,
        "skipped": skipped,
        "engines_identical": same,
    }
    out_file = args.out or data.parent / "results" / f"drift-partitioned-{rows}.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"written {out_file}")
    return 0 if same else 1
