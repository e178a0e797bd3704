"""Where a server's CPU goes, thread by thread, under load.

    .venv/bin/python bench/thread_cpu.py [--rows 1,100] [--connections 64] [--grpc | --binary]
        [--model hgb|logreg] [--model-process] [--lean-front direct|app] [--windows 2]
        [--seconds 5] [--workers 1]
        [--env NAME=VALUE ...]

Starts this checkout's ``modelyard serve --dev`` with one worker (monitoring on, as
bench/request_path.py: breast cancer, ``bench-api``), drives it with wrk (``post.lua``, v1
JSON) or, with ``--grpc``, with ``serve_peers/grpc_load.py`` (v2 ``ModelInfer``, raw FP64
contents), or, with ``--binary``, with wrk posting v2 binary tensors (one FP64 tensor in,
every output asked back binary: bench/serve.py's body), and prints for each window:
requests/s, p50/p99, model calls/s and rows per call (from the server's own
``modelyard_batch_rows`` histogram), and every thread's CPU
(utime + stime from ``/proc/PID/task/TID/stat``) in µs per request, named as Python names
it (``py-spy dump``; unnamed native threads, such as OpenMP's or grpcio's, by thread id).

``--model-process`` runs the model's calls in a child process (bench/probes/model_process,
a probe of what sharing the interpreter with the model costs the event loop; the child's
CPU shows as ``child PID``). ``--lean-front direct`` answers v1 predictions on the
connection itself, without uvicorn's ASGI cycle, a task or the app's middleware;
``--lean-front app`` hands them to the whole app, without the cycle or a task
(bench/probes/lean_front, a probe of what that machinery costs a one-row request). One
probe at a time (each is a ``sitecustomize`` module).

``--model logreg`` serves StandardScaler + LogisticRegression instead of
HistGradientBoostingClassifier: a model that costs almost nothing per call, so what is left
is the request path's own cost. ``--env MODELYARD_MONITORING=false`` shows what monitoring
costs. A busy machine moves the rates; the split between threads moves much less.

``--workers 2``: each worker's threads are named as in one worker's and summed over the
workers (what one request costs whichever worker took it); the supervisor shows as
``supervisor``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import tempfile
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import request_path as rp

V2_ROUTE = "/v2/models/bench-api/infer"
GRPC_LOAD = rp.BENCH / "serve_peers" / "grpc_load.py"
_DUMP_LINE = re.compile(r'^Thread (\d+) \([^)]*\): "([^"]*)"', re.M)


def thread_names(pid: int) -> dict[str, str]:
    """Thread id → Python thread name, from ``py-spy dump`` (empty if it cannot run)."""
    spy = rp.PYTHON.parent / "py-spy"
    try:
        done = subprocess.run(
            [str(spy), "dump", "--pid", str(pid)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"  (py-spy dump failed: {exc}; threads shown by id)")
        return {}
    names = dict(_DUMP_LINE.findall(done.stdout))
    if not names:
        print(f"  (py-spy dump named no thread: {done.stderr.strip()[:200]}; threads by id)")
    return names


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of ``pid`` so far, by thread id, and of each child
    process of it (all its threads together), as ``child PID``."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            children = (task / "children").read_text().split()
        except OSError:
            continue  # ended meanwhile
        seconds[task.name] = (int(fields[11]) + int(fields[12])) / tick
        for child in children:
            try:
                seconds[f"child {child}"] = sum(thread_cpu(int(child)).values())
            except OSError:
                continue  # ended meanwhile
    return seconds


def _processes(pid: int, workers: int) -> list[int]:
    """The server's processes whose threads are counted: ``pid`` and, with several
    workers, each of its children."""
    if workers == 1:
        return [pid]
    children = (tid for tid in thread_cpu(pid) if tid.startswith("child "))
    return [pid, *(int(child.removeprefix("child ")) for child in children)]


def worker_threads(pid: int, workers: int) -> dict[str, float]:
    """CPU seconds so far by thread (``PID/TID`` with several workers)."""
    if workers == 1:
        return thread_cpu(pid)
    return {
        f"{process}/{tid}": spent
        for process in _processes(pid, workers)
        for tid, spent in thread_cpu(process).items()
        if not tid.startswith("child ")  # (each worker is counted by its own threads)
    }


def worker_names(pid: int, workers: int) -> dict[str, str]:
    """Python's thread names, keyed as :func:`worker_threads` keys its seconds; the
    supervisor's threads are named ``supervisor``."""
    if workers == 1:
        return thread_names(pid)
    named = {f"{pid}/{tid}": "supervisor" for tid in thread_cpu(pid)}
    for child in _processes(pid, workers)[1:]:
        named.update({f"{child}/{t}": n for t, n in thread_names(child).items()})
    return named


def batch_rows(port: int) -> tuple[float, float]:
    """(rows, model calls) so far, summed over every endpoint and version."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()

    def total(suffix: str) -> float:
        pattern = rf"^modelyard_batch_rows_{suffix}\{{[^}}]*\}} (\S+)"
        return sum(float(v) for v in re.findall(pattern, text, re.M))

    return total("sum"), total("count")


def children_cpu() -> float:
    """CPU seconds of every finished child process (the load generator's share)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def load(
    args: argparse.Namespace,
    port: int,
    grpc_port: int | None,
    body: Path,
    seconds: float,
    header_length: int | None = None,
) -> Any:
    """wrk's summary of ``seconds`` of load (or grpc_load.py's, the same keys);
    ``header_length``: ``body`` is v2 binary tensors after that many bytes of JSON."""
    if header_length is not None:
        return rp.wrk(port, V2_ROUTE, body, seconds, args.connections, header_length)
    if grpc_port is None:
        return rp.wrk(port, rp.ROUTE, body, seconds, args.connections)
    target = f"127.0.0.1:{grpc_port}"
    command = [str(rp.PYTHON), str(GRPC_LOAD), target, str(body), str(args.connections)]
    done = subprocess.run([*command, str(seconds)], capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    raise SystemExit(f"gRPC load failed: {done.stdout}{done.stderr}")


def rows_of(body: Path) -> Any:
    """The v1 body's rows as a DataFrame."""
    import pandas as pd

    return pd.DataFrame(json.loads(body.read_bytes())["instances"])


def grpc_body(body: Path, scratch: Path) -> Path:
    """The v1 body's rows as a serialized ModelInferRequest (as bench/serve.py sends)."""
    from serve_peers.protocols import grpc_body as serialized

    out = scratch / f"{body.stem}.grpc"
    out.write_bytes(serialized(rows_of(body), "bench-api"))
    return out


def binary_body(body: Path, scratch: Path) -> tuple[Path, int]:
    """The v1 body's rows as a v2 body of binary tensors, and its JSON part's length."""
    from serve_peers.protocols import binary_body as tensors

    data, length = tensors(rows_of(body))
    out = scratch / f"{body.stem}.bin"
    out.write_bytes(data)
    return out, length


def measure(args: argparse.Namespace, home: Path, body: Path, rows: int, scratch: Path) -> None:
    extra: tuple[str, ...] = ()
    grpc_port = None
    header_length = None
    if args.grpc:
        grpc_port = rp.free_port()
        extra = ("--grpc-port", str(grpc_port))
        body = grpc_body(body, scratch)
    elif args.binary:
        body, header_length = binary_body(body, scratch)
    server = rp.start("this", None, home, args.workers, scratch, extra)
    try:
        if not (args.grpc or args.binary):  # a probe too must answer what the app answers
            rp.check_answer(server.port, body.read_bytes())
        load(args, server.port, grpc_port, body, 2, header_length)  # warm-up
        pid = server.process.pid
        names = worker_names(pid, args.workers)
        protocol = "gRPC" if args.grpc else "v2 binary" if args.binary else "JSON"
        print(
            f"\n{args.model}, {rows} row(s), {protocol}, c={args.connections}, "
            f"{args.workers} worker(s)"
        )
        for _ in range(args.windows):
            cpu_before = worker_threads(pid, args.workers)
            batches_before = batch_rows(server.port)
            client_before = children_cpu()
            out = load(args, server.port, grpc_port, body, args.seconds, header_length)
            client = children_cpu() - client_before
            cpu_after = worker_threads(pid, args.workers)
            batches_after = batch_rows(server.port)
            names.update(worker_names(pid, args.workers))  # threads started meanwhile
            requests = max(out["requests"], 1)
            duration = out["duration_us"] / 1e6
            calls = batches_after[1] - batches_before[1]
            per_thread: dict[str, float] = defaultdict(float)
            for tid, seconds in cpu_after.items():
                spent = seconds - cpu_before.get(tid, 0.0)
                if spent > 0:
                    native = f"native {tid}" if args.workers == 1 else "native"
                    name = tid if tid.startswith("child") else names.get(tid, native)
                    per_thread[name] += spent / requests * 1e6
            top = sorted(per_thread.items(), key=lambda item: -item[1])
            threads = ", ".join(f"{name} {us:.0f}" for name, us in top if us >= 1)
            print(
                f"  {requests / duration:7,.0f} req/s  p50 {out['p50_us'] / 1000:6.1f} ms  "
                f"p99 {out['p99_us'] / 1000:6.1f} ms  non-2xx {out['non_2xx']}  "
                f"{calls / duration:5.0f} model calls/s of "
                f"{(batches_after[0] - batches_before[0]) / max(calls, 1):6.1f} rows"
            )
            print(f"    CPU µs/request: total {sum(per_thread.values()):.0f}: {threads}")
            print(f"    load generator (wrk or grpc_load.py): {client / requests * 1e6:.0f}")
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1,100")
    parser.add_argument("--connections", type=int, default=rp.CONNECTIONS)
    protocols = parser.add_mutually_exclusive_group()
    protocols.add_argument("--grpc", action="store_true", help="v2 ModelInfer over gRPC")
    protocols.add_argument("--binary", action="store_true", help="v2 binary tensors over HTTP")
    parser.add_argument("--model", choices=("hgb", "logreg"), default="hgb")
    parser.add_argument("--windows", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument(
        "--env", action="append", default=[], help="NAME=VALUE for the modelyard server"
    )
    parser.add_argument(
        "--model-process",
        action="store_true",
        help="model calls in a child process (bench/probes/model_process: a probe)",
    )
    parser.add_argument(
        "--lean-front",
        choices=("direct", "app"),
        help="v1 predictions answered on the connection, without uvicorn's cycle or a task: "
        "by the probe's own code (direct) or by the whole app (bench/probes/lean_front)",
    )
    args = parser.parse_args()
    if args.model_process and args.lean_front:
        parser.error("one probe at a time: --model-process or --lean-front")
    probes = rp.BENCH / "probes"  # each probe's folder, and probe_hook.py's
    if args.model_process:
        rp.EXTRA_ENV["PYTHONPATH"] = os.pathsep.join((str(probes / "model_process"), str(probes)))
        rp.EXTRA_ENV["PROBE_MODEL_PROCESS"] = "1"
    if args.lean_front:
        rp.EXTRA_ENV["PYTHONPATH"] = os.pathsep.join((str(probes / "lean_front"), str(probes)))
        rp.EXTRA_ENV["PROBE_LEAN_FRONT"] = args.lean_front
    for setting in args.env:
        name, equals, value = setting.partition("=")
        if not equals or not name:
            parser.error(f"--env {setting!r}: expected NAME=VALUE")
        rp.EXTRA_ENV[name] = value
    estimator = None
    if args.model == "logreg":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    with tempfile.TemporaryDirectory(prefix="thread-cpu-") as folder:
        scratch = Path(folder)
        home, bodies, _, _ = rp.prepare(scratch, estimator)
        for rows in (int(r) for r in args.rows.split(",")):
            measure(args, home, bodies[rows], rows, scratch)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
