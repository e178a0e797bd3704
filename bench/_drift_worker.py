"""One drift measurement in a fresh process, for ``bench/drift.py``.

    python bench/_drift_worker.py TOOL --reference R.parquet --current C.parquet --out OUT.json

TOOL is ``modelyard``, ``scipy``, ``evidently`` (run with the Evidently virtualenv's Python:
this file imports nothing outside the standard library at module level), ``live`` (modelyard's
comparison of a live window's sketches against a stored reference profile) or ``cli`` (the
``modelyard drift`` command as a child process, timed from outside).

Untimed: the tool's imports and reading both Parquet files with ``pandas.read_parquet``.
Then the peak-RSS mark of this process is reset (``/proc/self/clear_refs``), the computation
is timed, and the peak RSS during it is read back (``VmHWM``), next to the RSS right after
loading, so peak memory can be stated relative to the loaded data.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

P_VALUE = 0.05  # the scipy loop flags a column when p < P_VALUE
LIVE_WINDOW = 10_000
LIVE_BINS = 100
LIVE_REPEATS = 50


def status_kib(field: str) -> int | None:
    """A ``VmRSS`` / ``VmHWM`` line of /proc/self/status, in KiB."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as out:
            out.write("5")
    except OSError:
        return False
    return True


def cpu_seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def mib(kib: int | None) -> float | None:
    return None if kib is None else kib / 1024


# -- the tools ----------------------------------------------------------------------------


def is_numeric(pd: Any, column: Any) -> bool:
    return bool(
        pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
    )


def run_modelyard(reference: Any, current: Any) -> tuple[Any, dict[str, Any]]:
    from modelyard.monitoring.offline import drift_frames

    report = drift_frames(reference, current)
    report.to_json()
    return report, {}


def read_modelyard(report: Any) -> dict[str, Any]:
    columns = {}
    for f in report.features:
        columns[f.feature] = {
            "kind": f.kind,
            "test": f.test,
            "score": f.values.get(f.test),
            "threshold": f.threshold,
            "drift": f.drifted,
            "values": f.values,
        }
    return {"columns": columns, "verdict": report.verdict, "drift_share": report.drift_share}


def run_scipy(reference: Any, current: Any) -> tuple[Any, dict[str, Any]]:
    """ks_2samp per numeric column, chi2_contingency on the 2 × k table per categorical one."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    columns = {}
    for name in reference.columns:
        ref, cur = reference[name], current[name]
        if is_numeric(pd, ref):
            a = ref.to_numpy(dtype=float, na_value=np.nan)
            b = cur.to_numpy(dtype=float, na_value=np.nan)
            result = stats.ks_2samp(a[~np.isnan(a)], b[~np.isnan(b)])
            columns[name] = {
                "kind": "numeric",
                "test": "ks_2samp p-value",
                "statistic": float(result.statistic),
                "score": float(result.pvalue),
            }
        else:
            counts = pd.concat(
                [ref.value_counts(dropna=True), cur.value_counts(dropna=True)], axis=1
            ).fillna(0)
            table = counts.to_numpy(dtype=float).T
            chi2 = stats.chi2_contingency(table, correction=False)
            columns[name] = {
                "kind": "categorical",
                "test": "chi2_contingency p-value",
                "statistic": float(chi2.statistic),
                "score": float(chi2.pvalue),
            }
    for column in columns.values():
        column["threshold"] = P_VALUE
        column["drift"] = column["score"] < P_VALUE
    return columns, {}


def read_scipy(columns: Any) -> dict[str, Any]:
    drifted = sum(c["drift"] for c in columns.values())
    return {"columns": columns, "drift_share": drifted / len(columns)}


def run_evidently(reference: Any, current: Any) -> tuple[Any, dict[str, Any]]:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    return snapshot, {}


def read_evidently(snapshot: Any) -> dict[str, Any]:
    """Per column: the method Evidently resolved, its score and threshold, and the verdict.

    Evidently's p-value tests (names ending in ``p_value``) drift when score < threshold,
    its distances when score >= threshold (as in its stat-test implementations)."""
    columns = {}
    share = None
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        kind = config.get("type", "")
        if kind.endswith(":ValueDrift"):
            method = str(config.get("method"))
            score, threshold = float(metric["value"]), float(config["threshold"])
            is_p = "p_value" in method
            columns[config["column"]] = {
                "test": method,
                "score": score,
                "threshold": threshold,
                "drift": score < threshold if is_p else score >= threshold,
            }
        elif kind.endswith(":DriftedColumnsCount"):
            share = metric["value"].get("share")
    return {"columns": columns, "drift_share": share}


def run_live(reference: Any, current: Any) -> tuple[Any, dict[str, Any]]:
    """Profile the reference (untimed here: it is stored once), store it as JSON, then time
    filling sketches from a live window and comparing them with the stored profile."""
    import numpy as np
    import pandas as pd

    from modelyard.domain.monitoring import DriftConfig
    from modelyard.monitoring.drift import compare
    from modelyard.monitoring.profile import categorical_profile, numeric_profile
    from modelyard.monitoring.sketch import counts_for

    started = time.perf_counter()
    features = {}
    for name in reference.columns:
        column = reference[name]
        if is_numeric(pd, column):
            values = column.to_numpy(dtype=float, na_value=np.nan)
            features[name] = numeric_profile(values, LIVE_BINS)
        else:
            features[name] = categorical_profile(column)
    profile_s = time.perf_counter() - started
    stored_text = json.dumps({"features": features, "output": None})
    stored = json.loads(stored_text)  # what a stored profile looks like when read back
    window = current.sample(n=min(LIVE_WINDOW, len(current)), random_state=0)
    arrays = {
        name: (
            window[name].to_numpy(dtype=float, na_value=np.nan)
            if is_numeric(pd, window[name])
            else window[name]
        )
        for name in window.columns
    }
    config = DriftConfig()

    started = time.perf_counter()
    sketches = {}
    for name, spec in stored["features"].items():
        sketch = counts_for(spec)
        sketch.add(arrays[name])
        sketches[name] = sketch
    fill_s = time.perf_counter() - started

    times = []
    report = None
    for _ in range(LIVE_REPEATS):
        started = time.perf_counter()
        report = compare(stored, sketches, None, config)
        times.append(time.perf_counter() - started)
    extra = {
        "window_rows": len(window),
        "bins": LIVE_BINS,
        "profile_reference_s": profile_s,
        "stored_profile_bytes": len(stored_text),
        "fill_sketches_s": fill_s,
        "compare_repeats": LIVE_REPEATS,
        "compare_first_ms": times[0] * 1e3,
        "compare_median_ms": statistics.median(times) * 1e3,
        "compare_min_ms": min(times) * 1e3,
        "compare_max_ms": max(times) * 1e3,
    }
    return report, extra


def run_cli(reference_file: Path, current_file: Path) -> dict[str, Any]:
    """``modelyard drift --reference R --current C --json`` as a child, timed end to end."""
    executable = Path(sys.executable).parent / "modelyard"
    command = [str(executable), "drift", "--reference", str(reference_file)]
    command += ["--current", str(current_file), "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1 may mean "drift found"; anything else failed
        raise SystemExit(f"modelyard drift exited {done.returncode}: {done.stderr[-2000:]}")
    try:
        answer = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"modelyard drift --json printed no JSON: {done.stdout[:500]!r}") from exc
    columns = {}
    for f in answer.get("features", []):
        columns[f["feature"]] = {
            "kind": f.get("kind"),
            "test": f.get("test"),
            "score": (f.get("values") or {}).get(f.get("test")),
            "threshold": f.get("threshold"),
            "drift": f.get("verdict") == "drift",
        }
    return {
        "tool": "cli",
        "compute_s": wall,
        "exit_code": done.returncode,
        "cpu_s": cpu_seconds(usage),
        "peak_compute_mib": usage.ru_maxrss / 1024,
        "peak_process_mib": usage.ru_maxrss / 1024,
        "result": {"columns": columns, "verdict": answer.get("verdict")},
    }


def run_scipy_e2e(reference_file: Path, current_file: Path) -> dict[str, Any]:
    """What a user's own script does: read both files with pandas, loop over the columns
    with scipy. Nothing else is measured in this process: its wall time is the figure."""
    import pandas as pd

    reference = pd.read_parquet(reference_file)
    current = pd.read_parquet(current_file)
    started = time.perf_counter()
    outcome, _ = run_scipy(reference, current)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "tool": "scipy-e2e",
        "compute_s": time.perf_counter() - started,
        "cpu_s": cpu_seconds(usage),
        "peak_compute_mib": usage.ru_maxrss / 1024,
        "peak_process_mib": usage.ru_maxrss / 1024,
        "result": read_scipy(outcome),
    }


TOOLS = {
    "modelyard": (run_modelyard, read_modelyard),
    "scipy": (run_scipy, read_scipy),
    "evidently": (run_evidently, read_evidently),
    "live": (run_live, read_modelyard),
}


def measure(tool: str, reference_file: Path, current_file: Path) -> dict[str, Any]:
    if tool == "cli":
        return run_cli(reference_file, current_file)
    if tool == "scipy-e2e":
        return run_scipy_e2e(reference_file, current_file)
    import pandas as pd

    if tool == "evidently":
        import evidently  # noqa: F401  (imported before timing, as every tool's library)
        from evidently import Report  # noqa: F401
        from evidently.presets import DataDriftPreset  # noqa: F401
    elif tool == "scipy":
        from scipy import stats  # noqa: F401
    else:
        import modelyard.monitoring.offline  # noqa: F401

    gc.collect()
    rss_before_load = status_kib("VmRSS")
    started = time.perf_counter()
    reference = pd.read_parquet(reference_file)
    current = pd.read_parquet(current_file)
    load_s = time.perf_counter() - started
    gc.collect()
    rss_loaded = status_kib("VmRSS")
    data_bytes = int(
        reference.memory_usage(deep=True).sum() + current.memory_usage(deep=True).sum()
    )
    maxrss_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    run, read = TOOLS[tool]
    peak_reset = reset_peak()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    outcome, extra = run(reference, current)
    compute_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    hwm = status_kib("VmHWM")
    peak_compute = hwm if peak_reset and hwm is not None else after.ru_maxrss

    return {
        "tool": tool,
        "rows": [len(reference), len(current)],
        "load_s": load_s,
        "compute_s": compute_s,
        "cpu_s": cpu_seconds(after) - cpu_seconds(before),
        "rss_before_load_mib": mib(rss_before_load),
        "rss_loaded_mib": mib(rss_loaded),
        "data_mib": data_bytes / 2**20,
        "peak_compute_mib": mib(peak_compute),
        "peak_process_mib": max(maxrss_load, after.ru_maxrss) / 1024,
        "peak_reset": peak_reset,
        "pandas": pd.__version__,
        "dtypes": sorted({str(t) for t in reference.dtypes}),
        "result": read(outcome),
        **extra,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tool", choices=[*TOOLS, "cli", "scipy-e2e"])
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--current", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    result = measure(args.tool, args.reference, args.current)
    result["pid"] = os.getpid()
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
