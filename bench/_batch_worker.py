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
    return {
        "rows": len(frame),
        "columns": list(frame.columns),
        "dtypes": {c: str(t) for c, t in frame.dtypes.items()},
        "first_ids": frame[ID].head(3).tolist(),
        "last_ids": frame[ID].tail(3).tolist(),
        "positives": int((frame["prediction"] == 1).sum()),
        "probability_1_sum": float(frame["probability_1"].sum()),
        "bytes": out.stat().st_size,
    }


def measure(peer: str, data: Path, out: Path, chunk_rows: int) -> dict[str, Any]:
    kind, fmt = peer.split("-")
    if kind in ("cli", "script"):
        result = run_child(kind, fmt, data, out, chunk_rows)
    else:
        work = (
            pandas_peer(fmt, data, out)
            if kind == "pandas"
            else modelyard_peer(fmt, data, out, chunk_rows)
        )
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
    result["peer"] = peer
    result["output"] = summary(out, fmt)
    out.unlink()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "peer",
        choices=[
            f"{k}-{f}" for k in ("pandas", "script", "modelyard", "cli") for f in ("csv", "parquet")
        ],
    )
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out-file", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    args = parser.parse_args()
    result = measure(args.peer, args.data, args.out_file, args.chunk_rows)
    result["pid"] = os.getpid()
    args.result.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
