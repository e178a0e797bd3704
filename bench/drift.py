"""Offline drift of two tables: modelyard against a scipy loop and Evidently, in the same run.

    .venv/bin/python bench/drift.py [--quick] [--runs 3] [--skip evidently ...]
    .venv/bin/python bench/drift.py --partitioned --rows 100000000   # bench/_drift_big.py

Data: 25 columns (20 numeric, 5 categorical strings) made here with numpy's default_rng and a
fixed seed, no downloads; a reference table and a current table of 1M rows each (100k with
``--quick``), written once to Parquet under ``bench/.data/`` and reused. The current table is
the same generator with another seed, so 20 columns are fresh samples of the same
distribution and 5 are shifted on purpose (``SHIFTS``).

Tools, each measured in a fresh process (``bench/_drift_worker.py``) that reads both Parquet
files untimed and then times the computation alone:

- ``modelyard``: ``modelyard.monitoring.offline.drift_frames(reference, current)`` (profiles
  the reference into quantile bins, counts the current into them, runs the binned tests).
- ``scipy``: a loop over the columns, ``scipy.stats.ks_2samp`` for numeric ones and
  ``scipy.stats.chi2_contingency`` on the 2 × k table of counts for categorical ones; a
  column drifts when p < 0.05.
- ``evidently``: ``Report([DataDriftPreset()]).run(current, reference)`` with every default,
  no HTML, in its own virtualenv ``bench/.venvs/evidently`` (Evidently 0.7.23 needs
  ``pandas<3``).
- ``live``: modelyard comparing the sketches of a 10k-row live window with a stored reference
  profile (``modelyard.monitoring.drift.compare``), the server's path.
- ``cli``: ``modelyard drift --reference R --current C --json`` end to end (process start,
  Parquet reading, drift), when the command exists.

Tools are interleaved, their order rotated from run to run; the table gives medians with
their range, peak RSS during the computation against the RSS right after loading, and the
ratio of medians against modelyard. Every run goes to ``bench/results/drift.json``.
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

from registry import _tail, build_venv, machine, venv_python
from serve_peers.common import machine_busy_seconds

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORKER = BENCH / "_drift_worker.py"
DATA = BENCH / ".data"
RESULTS_JSON = BENCH / "results" / "drift.json"
QUICK_JSON = BENCH / "results" / "drift-quick.json"
EVIDENTLY_VENV = BENCH / ".venvs" / "evidently"
MODELYARD_CLI = Path(sys.executable).parent / "modelyard"

EVIDENTLY_VERSION = "0.7.23"
# Evidently 0.7.23 fails to import with pandas 3 (PERF_NOTES.md); the libraries doing the
# arithmetic and the Parquet reading are pinned to this environment's versions.
SHARED = ("numpy", "scipy", "pyarrow")
TOOLS = ("modelyard", "scipy", "evidently", "cli", "live", "scipy-e2e")
TITLES = {
    "modelyard": "modelyard drift_frames",
    "scipy": "scipy loop (ks_2samp / chi2_contingency)",
    "evidently": f"Evidently {EVIDENTLY_VERSION} DataDriftPreset",
    "cli": "modelyard drift CLI (process + read + drift)",
    "live": "modelyard live window vs stored profile",
    "scipy-e2e": "scipy loop script (process + read + loop)",
}
FULL_ROWS = 1_000_000
QUICK_ROWS = 100_000
SEED = 20261122
DATA_VERSION = 1  # bump when the generator changes: the Parquet files are then rebuilt
WORKER_TIMEOUT = 1800

# Target ratios of the issue, judged on medians of the same run.
TARGET_VS_EVIDENTLY = 40.0
TARGET_VS_SCIPY = 1.5
# End to end (process start to exit), as a user runs the gate (issue 19): the CLI's process
# against the scipy script's process and against Evidently's worker process.
TARGET_E2E_VS_SCIPY = 3.0
TARGET_E2E_VS_EVIDENTLY = 50.0
TARGET_PEAK_OVER_LOADED = 1.2
TARGET_LIVE_MS = 10.0

SHIFTS = {
    "norm_00": "mean +0.5σ",
    "norm_01": "mean +0.05σ (tiny)",
    "norm_02": "σ ×1.3",
    "lognorm_00": "shape: lognormal σ 0.5 → 0.8, same mean",
    "cat_5": "re-weighted: A 40% → 25%, D/E 12/8% → 15/15%",
}


def say(message: str) -> None:
    print(f"[drift] {message}", flush=True)


# -- data ---------------------------------------------------------------------------------


def make_frame(rows: int, seed: int, shifted: bool) -> Any:
    """20 numeric and 5 categorical columns; ``shifted`` applies ``SHIFTS``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = rows
    s = shifted
    cols: dict[str, Any] = {}
    cols["norm_00"] = rng.normal(0.5 if s else 0.0, 1.0, n)
    cols["norm_01"] = rng.normal(50.0 + (0.05 * 10.0 if s else 0.0), 10.0, n)
    cols["norm_02"] = rng.normal(-3.0, 2.0 * (1.3 if s else 1.0), n)
    cols["norm_03"] = rng.normal(100.0, 15.0, n)
    cols["norm_04"] = rng.normal(0.0, 0.01, n)
    cols["norm_05"] = rng.normal(1e4, 2e3, n)
    cols["norm_06"] = rng.normal(7.0, 3.0, n)
    norm_07 = rng.normal(0.0, 1.0, n)
    norm_07[rng.random(n) < 0.01] = np.nan  # 1% missing
    cols["norm_07"] = norm_07
    # Same mean exp(mu + sigma²/2) on both sides, a wider shape on the current one.
    sigma = 0.8 if s else 0.5
    cols["lognorm_00"] = rng.lognormal(0.5**2 / 2 - sigma**2 / 2, sigma, n)
    cols["lognorm_01"] = rng.lognormal(3.0, 1.0, n)
    cols["lognorm_02"] = rng.lognormal(0.0, 0.25, n)
    cols["lognorm_03"] = rng.lognormal(8.0, 1.5, n)
    cols["unif_00"] = rng.uniform(0.0, 1.0, n)
    cols["unif_01"] = rng.uniform(-100.0, 100.0, n)
    cols["unif_02"] = rng.uniform(5.0, 6.0, n)
    cols["unif_03"] = rng.uniform(0.0, 1e6, n)
    cols["int_ties_00"] = rng.poisson(3.0, n)  # ~15 distinct values
    cols["int_ties_01"] = rng.integers(0, 10, n)  # 10 distinct values
    cols["expo_00"] = rng.exponential(1.0, n)
    cols["expo_01"] = rng.exponential(250.0, n)

    def categorical(labels: list[str], weights: Any, missing: float = 0.0) -> Any:
        p = np.asarray(weights, dtype=float)
        values = np.asarray(labels, dtype=object)[rng.choice(len(labels), n, p=p / p.sum())]
        if missing:
            values[rng.random(n) < missing] = None
        return values

    cols["cat_5"] = categorical(
        list("ABCDE"),
        [0.25, 0.25, 0.20, 0.15, 0.15] if s else [0.40, 0.25, 0.15, 0.12, 0.08],
    )
    cols["cat_2"] = categorical(["yes", "no"], [0.7, 0.3])
    cols["cat_3"] = categorical(["red", "green", "blue"], [0.5, 0.3, 0.2])
    cols["cat_50"] = categorical(
        [f"city_{k:02d}" for k in range(50)], 1.0 / np.arange(1, 51), missing=0.01
    )
    cols["cat_1000"] = categorical([f"sku_{k:04d}" for k in range(1000)], 1.0 / np.arange(10, 1010))
    return pd.DataFrame(cols)


def ensure_data(rows: int, seed: int) -> tuple[Path, Path]:
    """The reference and current Parquet files, generated when missing."""
    folder = DATA / f"drift-v{DATA_VERSION}-{rows}-seed{seed}"
    reference, current = folder / "reference.parquet", folder / "current.parquet"
    if reference.exists() and current.exists():
        say(f"data present: {folder.relative_to(ROOT)}")
        return reference, current
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for path, offset, shifted in ((reference, 0, False), (current, 1, True)):
        frame = make_frame(rows, seed + offset, shifted)
        partial = path.with_suffix(".partial")
        frame.to_parquet(partial, index=False)
        partial.replace(path)
        del frame
    size = (reference.stat().st_size + current.stat().st_size) / 2**20
    say(
        f"generated {folder.relative_to(ROOT)} ({rows:,} rows each, {size:.0f} MiB of Parquet) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return reference, current


# -- peers --------------------------------------------------------------------------------


def evidently_pins() -> list[str]:
    return [f"evidently=={EVIDENTLY_VERSION}", "pandas<3"] + [
        f"{name}=={metadata.version(name)}" for name in SHARED
    ]


def worker_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MODELYARD_") and key not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }
    env["DO_NOT_TRACK"] = "1"  # Evidently's usage telemetry (there is no network here anyway)
    env["ITERATIVE_DO_NOT_TRACK"] = "1"
    return env


def evidently_python() -> tuple[Path | None, str | None, dict[str, str]]:
    venv, problem = build_venv(EVIDENTLY_VENV, evidently_pins(), "Evidently", say)
    if venv is None:
        return None, problem, {}
    python = venv_python(venv)
    code = (
        "import json\nfrom importlib import metadata\n"
        "from evidently import Report\nfrom evidently.presets import DataDriftPreset\n"
        "print(json.dumps({n: metadata.version(n) for n in "
        "('evidently', 'pandas', 'numpy', 'scipy', 'pyarrow')}))"
    )
    done = subprocess.run(
        [str(python), "-c", code],
        capture_output=True,
        text=True,
        env=worker_env(),
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        return None, f"`import evidently` fails in its virtualenv: {_tail(done.stderr)}", {}
    versions: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return python, None, versions


def cli_problem() -> str | None:
    """None when ``modelyard drift`` exists, else why the CLI row is skipped."""
    if not MODELYARD_CLI.exists():
        return f"{MODELYARD_CLI} not found"
    done = subprocess.run(
        [str(MODELYARD_CLI), "drift", "--help"],
        capture_output=True,
        text=True,
        env=worker_env(),
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        return "`modelyard drift` does not exist yet: " + _tail(done.stdout + done.stderr, 3)
    return None


# -- measuring ----------------------------------------------------------------------------


class MeasurementError(RuntimeError):
    pass


def measure(tool: str, python: Path, files: tuple[Path, Path], out: Path) -> dict[str, Any]:
    command = [str(python), str(WORKER), tool, "--reference", str(files[0])]
    command += ["--current", str(files[1]), "--out", str(out)]
    load = os.getloadavg()
    busy_before = machine_busy_seconds()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=out.parent,
            env=worker_env(),
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise MeasurementError(f"{tool}: no result within {WORKER_TIMEOUT} s") from None
    wall = time.perf_counter() - started
    busy = machine_busy_seconds() - busy_before
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (
        children_after.ru_utime
        - children_before.ru_utime
        + children_after.ru_stime
        - children_before.ru_stime
    )
    if done.returncode != 0 or not out.exists():
        raise MeasurementError(f"{tool} worker exited {done.returncode}: {_tail(done.stderr)}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    result["process_s"] = wall
    result["loadavg_1m_before"] = load[0]
    # CPU the rest of the machine used while the worker ran: anything above a few seconds
    # means another process competed for the 2 cores and the run is suspect.
    result["other_cpu_s"] = max(busy - own, 0.0)
    if result.get("rss_loaded_mib") and result.get("peak_compute_mib"):
        loaded = result["rss_loaded_mib"]
        result["peak_over_loaded"] = result["peak_compute_mib"] / loaded
        # Stricter: what the computation added, against the two DataFrames' own size
        # (pandas' deep memory_usage), leaving the interpreter and libraries out.
        result["extra_over_data"] = (result["peak_compute_mib"] - loaded) / result["data_mib"]
    return result


METRICS = (
    "compute_s",
    "cpu_s",
    "process_s",
    "load_s",
    "rss_before_load_mib",
    "rss_loaded_mib",
    "data_mib",
    "peak_compute_mib",
    "peak_process_mib",
    "peak_over_loaded",
    "extra_over_data",
    "other_cpu_s",
    "loadavg_1m_before",
    "fill_sketches_s",
    "compare_median_ms",
    "compare_first_ms",
    "profile_reference_s",
)


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


def flagged(result: dict[str, Any]) -> list[str]:
    return [name for name, c in result["columns"].items() if c["drift"]]


# -- reporting ----------------------------------------------------------------------------


def fmt_range(s: dict[str, float] | None, digits: int, unit: str = "") -> str:
    if s is None:
        return "n/a"
    if s["min"] == s["max"]:
        return f"{s['median']:,.{digits}f}{unit}"
    return f"{s['median']:,.{digits}f}{unit} [{s['min']:,.{digits}f}–{s['max']:,.{digits}f}]"


def main_table(summaries: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| tool | compute s, median [range] | CPU s | RSS after load MiB | peak RSS MiB (compute)"
        " | peak / loaded | extra / data | process wall s | × modelyard (compute) | runs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = summaries.get("modelyard", {}).get("compute_s", {}).get("median")
    for tool in ("modelyard", "scipy", "evidently", "cli", "scipy-e2e"):
        s = summaries.get(tool)
        if s is None:
            continue
        median = s["compute_s"]["median"]
        ratio = f"{median / base:.1f}×" if base else "n/a"
        if tool == "modelyard":
            ratio = "1×"
        elif tool in ("cli", "scipy-e2e"):
            ratio = "— (end to end)"
        lines.append(
            f"| {TITLES[tool]} | {fmt_range(s['compute_s'], 2)} | "
            f"{fmt_range(s.get('cpu_s'), 1)} | {fmt_range(s.get('rss_loaded_mib'), 0)} | "
            f"{fmt_range(s.get('peak_compute_mib'), 0)} | "
            f"{fmt_range(s.get('peak_over_loaded'), 2)} | "
            f"{fmt_range(s.get('extra_over_data'), 2)} | {fmt_range(s.get('process_s'), 1)} | "
            f"{ratio} | {s['runs']} |"
        )
    return "\n".join(lines)


def short(tool: str, column: dict[str, Any] | None) -> str:
    if column is None:
        return "n/a"
    score = column["score"]
    mark = "**drift**" if column["drift"] else "no"
    if score is None:
        return mark
    if tool == "scipy":
        return f"{mark} (p={score:.1e})" if score < 1e-3 else f"{mark} (p={score:.3f})"
    test = str(column.get("test", ""))
    name = (
        "W"
        if "asserstein" in test
        else "JS"
        if "ensen" in test
        else "p"
        if "p_value" in test
        else test
    )
    return f"{mark} ({name}={score:.3f})"


def column_table(results: dict[str, dict[str, Any]], columns: list[str]) -> str:
    tools = [t for t in ("modelyard", "scipy", "evidently", "live") if t in results]
    head = " | ".join(["column", "shift", *(TITLES[t] for t in tools)])
    lines = [f"| {head} |", "|" + "---|" * (2 + len(tools))]
    for name in columns:
        cells = [short(t, results[t]["columns"].get(name)) for t in tools]
        lines.append(f"| {name} | {SHIFTS.get(name, '—')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def differences(results: dict[str, dict[str, Any]]) -> list[str]:
    """Per tool: shifted columns missed and unshifted columns flagged."""
    lines = []
    for tool, result in results.items():
        drifted = set(flagged(result))
        missed = [c for c in SHIFTS if c not in drifted]
        false = [c for c in result["columns"] if c in drifted and c not in SHIFTS]
        lines.append(
            f"{TITLES[tool]}: flags {len(drifted)} — "
            f"{', '.join(sorted(drifted, key=list(result['columns']).index)) or 'none'}; "
            f"misses {', '.join(missed) or 'none'}; "
            f"flags unshifted {', '.join(false) or 'none'}"
        )
    return lines


def disagreements(results: dict[str, dict[str, Any]]) -> list[str]:
    """Columns on which the tools' verdicts differ, with each tool's test and value."""
    lines = []
    tools = [t for t in ("modelyard", "scipy", "evidently", "live") if t in results]
    for name in next(iter(results.values()))["columns"] if results else []:
        verdicts = {t: results[t]["columns"].get(name) for t in tools}
        if len({bool(v and v["drift"]) for v in verdicts.values()}) < 2:
            continue
        parts = []
        for drifts in (True, False):
            named = [
                f"{t} ({describe(v)})"
                for t, v in verdicts.items()
                if v is not None and bool(v["drift"]) == drifts
            ]
            if named:
                parts.append(("flagged by " if drifts else "not by ") + ", ".join(named))
        lines.append(f"{name} [{SHIFTS.get(name, 'unshifted')}]: " + "; ".join(parts))
    return lines


def describe(column: dict[str, Any]) -> str:
    score, threshold, test = column["score"], column["threshold"], str(column["test"])
    if score is None:
        return test
    if "p-value" in test or "p_value" in test:
        sign = "<" if column["drift"] else ">="
        return f"{test} {score:.2g} {sign} {threshold:g}"
    sign = ">=" if column["drift"] else "<"
    return f"{test} {score:.3f} {sign} {threshold:g}"


def targets(summaries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    verdicts = end_to_end(summaries)
    me = summaries.get("modelyard")
    if me is None:
        return verdicts
    mine = me["compute_s"]["median"]
    for tool, wanted in (("evidently", TARGET_VS_EVIDENTLY), ("scipy", TARGET_VS_SCIPY)):
        peer = summaries.get(tool)
        if peer is None:
            continue
        ratio = peer["compute_s"]["median"] / mine
        verdicts.append(
            {
                "target": f"modelyard >= {wanted:g}x faster than {TITLES[tool]} (compute medians)",
                "met": ratio >= wanted,
                "detail": f"{peer['compute_s']['median']:.2f} s vs {mine:.2f} s = {ratio:.1f}x",
            }
        )
    peak, extra = me.get("peak_over_loaded"), me.get("extra_over_data")
    if peak is not None and extra is not None:
        # Met only if both readings hold: peak RSS against the RSS after loading (which
        # includes the interpreter and what the Parquet reader's allocator kept), and what the
        # computation added against the DataFrames' own size.
        limit = TARGET_PEAK_OVER_LOADED
        verdicts.append(
            {
                "target": f"modelyard peak memory while computing <= {limit:g}x the loaded data",
                "met": peak["max"] <= limit and 1 + extra["max"] <= limit,
                "detail": f"peak RSS {me['peak_compute_mib']['median']:.0f} MiB vs "
                f"{me['rss_loaded_mib']['median']:.0f} MiB after loading = "
                f"{peak['median']:.2f}x (worst run {peak['max']:.2f}x); the computation added "
                f"{extra['median']:.2f} (worst {extra['max']:.2f}) of the DataFrames' own "
                f"{me['data_mib']['median']:.0f} MiB, i.e. {1 + extra['median']:.2f}x the data",
            }
        )
    live = summaries.get("live")
    if live is not None and "compare_median_ms" in live:
        ms = live["compare_median_ms"]["median"]
        verdicts.append(
            {
                "target": "live window vs stored reference profile: compare in milliseconds "
                f"(median < {TARGET_LIVE_MS:g} ms)",
                "met": ms < TARGET_LIVE_MS,
                "detail": f"compare() {ms:.2f} ms median over runs; filling the sketches from "
                f"the window {live['fill_sketches_s']['median'] * 1e3:.1f} ms",
            }
        )
    return verdicts


def end_to_end(summaries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The CLI's process (start to exit, as its parent timed it) against the other tools'
    processes (``process_s``: start to exit of the worker that reads and computes)."""
    cli = summaries.get("cli")
    if cli is None:
        return []
    mine = cli["compute_s"]["median"]
    verdicts = []
    for tool, wanted in (
        ("scipy-e2e", TARGET_E2E_VS_SCIPY),
        ("evidently", TARGET_E2E_VS_EVIDENTLY),
    ):
        peer = summaries.get(tool)
        if peer is None or "process_s" not in peer:
            continue
        theirs = peer["process_s"]["median"]
        verdicts.append(
            {
                "target": f"modelyard drift >= {wanted:g}x faster than {TITLES[tool]}, "
                "end to end (process start to exit, medians)",
                "met": theirs / mine >= wanted,
                "detail": f"{theirs:.2f} s vs {mine:.2f} s = {theirs / mine:.1f}x",
            }
        )
    return verdicts


# -- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows per table")
    parser.add_argument("--rows", type=int, default=None, help="rows per table (default 1M)")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per tool (default 3)")
    parser.add_argument(
        "--evidently-runs", type=int, default=None, help="runs for Evidently (default --runs)"
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=TOOLS, help="tools to leave out")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=None, help="where the JSON goes")
    big = parser.add_argument_group("--partitioned (bench/_drift_big.py)")
    big.add_argument(
        "--partitioned",
        action="store_true",
        help="folders of Parquet parts, generated file by file; the CLI end to end per engine",
    )
    big.add_argument("--reference-rows", type=int, default=None, help="default: --rows")
    big.add_argument("--file-rows", type=int, default=1_000_000, help="rows per Parquet file")
    big.add_argument("--engines", nargs="+", default=["local", "dask"], choices=["local", "dask"])
    big.add_argument("--workers", type=int, default=2, help="Dask LocalCluster processes")
    big.add_argument(
        "--peers", nargs="*", default=["scipy-e2e", "evidently"], choices=["scipy-e2e", "evidently"]
    )
    big.add_argument("--peer-memory-gib", type=float, default=16.0, help="a peer is killed past")
    big.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per process")
    args = parser.parse_args()
    if args.partitioned and not args.rows:
        parser.error("--partitioned needs --rows (e.g. --rows 100000000)")
    if args.partitioned:
        import _drift_big

        def evidently() -> tuple[Path | None, str | None]:
            python, problem, _ = evidently_python()
            return python, problem

        return _drift_big.run(
            args, make_frame, DATA, MODELYARD_CLI, worker_env(), evidently, WORKER
        )
    rows = args.rows or (QUICK_ROWS if args.quick else FULL_ROWS)
    evidently_runs = args.evidently_runs if args.evidently_runs is not None else args.runs
    if args.runs < 1 or evidently_runs < 1:
        parser.error("--runs and --evidently-runs must be at least 1")
    out_file = args.out or (QUICK_JSON if args.quick else RESULTS_JSON)

    say(f"machine: {machine()}; load average {os.getloadavg()}")
    files = ensure_data(rows, args.seed)
    pythons = {t: Path(sys.executable) for t in TOOLS if t not in args.skip}
    problems: dict[str, str] = {t: "skipped (--skip)" for t in args.skip}
    versions: dict[str, dict[str, str]] = {
        "modelyard (project .venv)": {
            n: metadata.version(n) for n in ("modelyard", "pandas", *SHARED)
        }
    }
    if "evidently" in pythons:
        python, problem, found = evidently_python()
        if python is None:
            problems["evidently"] = problem or "unavailable"
            say(f"EVIDENTLY UNAVAILABLE: {problem}")
            del pythons["evidently"]
        else:
            pythons["evidently"] = python
            versions["evidently venv"] = found
            say(f"Evidently venv: {found}")
    if "cli" in pythons:
        problem = cli_problem()
        if problem is not None:
            problems["cli"] = problem
            say(f"CLI row skipped: {problem}")
            del pythons["cli"]

    wanted = {t: (evidently_runs if t == "evidently" else args.runs) for t in pythons}
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in pythons}
    order = list(pythons)
    with tempfile.TemporaryDirectory(prefix="modelyard-drift-bench-") as tmp:
        for index in range(max(wanted.values(), default=0)):
            turn = order[index % len(order) :] + order[: index % len(order)]
            for tool in turn:
                if len(runs[tool]) >= wanted[tool] or tool not in pythons:
                    continue
                try:
                    result = measure(tool, pythons[tool], files, Path(tmp) / f"{tool}{index}.json")
                except MeasurementError as exc:
                    if tool in ("modelyard", "live"):
                        raise
                    problems[tool] = str(exc)
                    say(f"{tool.upper()} FAILED, leaving it out: {exc}")
                    del pythons[tool]
                    continue
                runs[tool].append(result)
                extra = ""
                if tool == "live":
                    extra = (
                        f"  compare {result['compare_median_ms']:.2f} ms, fill "
                        f"{result['fill_sketches_s'] * 1e3:.1f} ms"
                    )
                peak = result.get("peak_over_loaded")
                say(
                    f"run {index + 1} {tool:9} compute {result['compute_s']:8.3f} s  "
                    f"cpu {result['cpu_s']:7.2f} s  peak {result['peak_compute_mib']:6.0f} MiB"
                    + (f" ({peak:.2f}x loaded)" if peak else "")
                    + f"  wall {result['process_s']:6.1f} s  load1 "
                    f"{result['loadavg_1m_before']:.2f}  other cpu {result['other_cpu_s']:.1f} s"
                    + extra
                )

    summaries = {tool: summarise(r) for tool, r in runs.items() if r}
    results = {tool: r[-1]["result"] for tool, r in runs.items() if r}
    unstable = {
        tool: [flagged(x["result"]) for x in r]
        for tool, r in runs.items()
        if r and any(flagged(x["result"]) != flagged(r[0]["result"]) for x in r)
    }
    columns = list(next(iter(results.values()))["columns"]) if results else []
    verdicts = targets(summaries)
    table_results = {
        t: results[t] for t in ("modelyard", "scipy", "evidently", "live") if t in results
    }

    print()
    print(
        f"drift bench: {rows:,} reference rows vs {rows:,} current rows, 25 columns "
        f"(20 numeric, 5 categorical), 5 shifted; runs: "
        + ", ".join(f"{t} {len(r)}" for t, r in runs.items())
    )
    print(main_table(summaries))
    live = summaries.get("live")
    if live is not None:
        print(
            f"\nlive window ({runs['live'][0]['window_rows']:,} rows) vs stored reference "
            f"profile ({runs['live'][0]['bins']} bins, "
            f"{runs['live'][0]['stored_profile_bytes'] / 1024:.0f} KiB of JSON): compare() "
            f"{fmt_range(live['compare_median_ms'], 2, ' ms')} (median of "
            f"{runs['live'][0]['compare_repeats']} calls per run; first call "
            f"{fmt_range(live['compare_first_ms'], 2, ' ms')}); filling the sketches "
            f"{fmt_range({k: v * 1e3 for k, v in live['fill_sketches_s'].items()}, 1, ' ms')}; "
            f"profiling the reference once {fmt_range(live['profile_reference_s'], 2, ' s')}"
        )
    print()
    print(column_table(table_results, columns))
    print()
    for line in differences(results):
        print(line)
    print("\nwhere the verdicts differ:")
    for line in disagreements(results):
        print(f"- {line}")
    if unstable:
        print(f"flagged columns differed between runs: {unstable}")
    print()
    for v in verdicts:
        print(f"{'MET' if v['met'] else 'NOT MET'}: {v['target']}: {v['detail']}")
    for tool, why in problems.items():
        print(f"not measured: {tool}: {why}")

    report = {
        "benchmark": "drift",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python bench/drift.py", *sys.argv[1:]]),
        "machine": machine(),
        "rows": rows,
        "seed": args.seed,
        "data": [str(f.relative_to(ROOT)) for f in files],
        "shifts": SHIFTS,
        "runs_wanted": wanted,
        "order": "interleaved, rotated per run: " + ", ".join(order),
        "versions": versions,
        "evidently_pins": evidently_pins(),
        "problems": problems,
        "targets": verdicts,
        "summaries": summaries,
        "flagged": {tool: flagged(r) for tool, r in results.items()},
        "flagged_unstable": unstable,
        "disagreements": disagreements(results),
        "columns": results,
        "runs": {
            tool: [{k: v for k, v in x.items() if k != "result"} for x in r]
            for tool, r in runs.items()
        },
    }
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"written {out_file.relative_to(ROOT) if out_file.is_relative_to(ROOT) else out_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
