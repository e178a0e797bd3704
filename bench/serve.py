"""Serve one scikit-learn model over HTTP and gRPC: modelyard against three peers, in the same run.

    .venv/bin/python bench/serve.py [--quick] [--runs 3]

Two models are trained once on scikit-learn's bundled breast-cancer data (a DataFrame) and
pickled with joblib: HistGradientBoostingClassifier(max_iter=100, random_state=0) and a
StandardScaler + LogisticRegression pipeline. Every peer serves that same pickle:

- ``naive``: the FastAPI app every tutorial shows (``bench/serve_peers/naive_app.py``: pydantic
  ``features: list[float]``, sync ``def``, ``model.predict([features])``, one uvicorn worker,
  default settings). One row per request only.
- ``mlflow``: ``mlflow models serve`` of the model saved with ``mlflow.sklearn``.
- ``mlserver``: Seldon MLServer + mlserver-sklearn, adaptive batching (64 rows / 5 ms).
- ``modelyard-1w`` / ``modelyard-2w``: ``modelyard serve --dev [--workers 2]`` (monitoring on,
  the default: prediction log and sketches).
- ``modelyard-1w-nomon``: one worker with ``MODELYARD_MONITORING=false``, only in the 1-row
  c=64 cells, to measure what monitoring costs.
- The Open Inference Protocol's other two forms, only in the c=64 cells, for the two servers
  that speak v2: ``mlserver-bin`` / ``modelyard-1w-bin`` (HTTP with the binary tensor data
  extension: what ``tritonclient.http`` sends by default; one [N, 30] FP64 tensor, outputs
  asked back binary) and ``mlserver-grpc`` / ``modelyard-1w-grpc`` (v2 gRPC, the tensor in
  ``raw_input_contents`` as ``tritonclient.grpc`` sends it; load from
  ``bench/serve_peers/grpc_load.py``, one channel with C calls in flight, in place of wrk).

Load comes from wrk (a separate process, ``bench/serve_peers/post.lua``) at concurrency 1, 8
and 64 for 10 s each, with one-row and 100-row requests in each peer's own request format.
Each window is preceded by a 1 s unmeasured warm-up at the same concurrency. A run starts one
server at a time (a fresh one per model and peer), checks its predictions against the model's
own, drives all its windows, and kills its whole process group before the next peer starts;
peers are interleaved within each run, their order rotated from run to run. Per cell the
table gives medians over runs of req/s, rows/s, p50, p99, server CPU per request (the server
process group's utime + stime from /proc, before/after the window), and RSS (summed over the
group after the window), with non-2xx and socket errors summed over runs. The in-process
``model.predict`` rows/s on a 64-row batch is the ceiling. Every window goes to
``bench/results/serve.json``; a full run also rewrites ``bench/RESULTS.md``.

Each peer but modelyard (the project's own environment) runs in a virtualenv under
``bench/.venvs/``, created here only when missing or when its pins changed, with
scikit-learn, numpy, pandas and joblib pinned to this environment's versions.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from registry import _tail, build_venv, machine, venv_python
from serve_protocols import binary_body, binary_predictions, grpc_body, grpc_predictions

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEER_FILES = BENCH / "serve_peers"
LUA = PEER_FILES / "post.lua"
RESULTS_JSON = BENCH / "results" / "serve.json"
QUICK_JSON = BENCH / "results" / "serve-quick.json"
RESULTS_MD = BENCH / "RESULTS.md"
VENVS = BENCH / ".venvs"
WRK = shutil.which("wrk") or "/usr/bin/wrk"

SHARED = ("scikit-learn", "numpy", "pandas", "joblib")
MLFLOW_VERSION = "3.17.2"
MLSERVER_VERSION = "1.7.1"
FASTAPI_VERSION = "0.165.0"
UVICORN_VERSION = "0.54.0"


def shared_pins(names: tuple[str, ...] = SHARED) -> list[str]:
    return [f"{name}=={metadata.version(name)}" for name in names]


# The MLflow pins are those of bench/registry.py, so both benches share one virtualenv.
VENV_PINS: dict[str, list[str]] = {
    "naive-fastapi": [f"fastapi=={FASTAPI_VERSION}", f"uvicorn=={UVICORN_VERSION}"],
    "mlflow": [f"mlflow=={MLFLOW_VERSION}"],
    # MLServer 1.7.1 crash-loops with uvloop 0.23 (PERF_NOTES.md).
    "mlserver": [
        f"mlserver=={MLSERVER_VERSION}",
        f"mlserver-sklearn=={MLSERVER_VERSION}",
        "uvloop<0.22",
    ],
}
BINARY_PEERS = ("mlserver-bin", "modelyard-1w-bin")
GRPC_PEERS = ("mlserver-grpc", "modelyard-1w-grpc")
PEERS = (
    "naive",
    "mlflow",
    "mlserver",
    "modelyard-1w",
    "modelyard-1w-nomon",
    "modelyard-2w",
    *BINARY_PEERS,
    *GRPC_PEERS,
)
MONITOR_OFF = "modelyard-1w-nomon"  # measured in the 1-row c=64 cells only
PROTOCOL_CONCURRENCY = 64  # the binary and gRPC peers are measured at this concurrency only
GRPC_LOAD = PEER_FILES / "grpc_load.py"
PEER_VENV = {"naive": "naive-fastapi", "mlflow": "mlflow", "mlserver": "mlserver"}
MODELS = ("hgb", "logreg")
MODEL_TITLES = {
    "hgb": "HistGradientBoostingClassifier(max_iter=100, random_state=0)",
    "logreg": "StandardScaler + LogisticRegression(max_iter=1000)",
}
CEILING_ROWS = 64
CHECK_ROWS = 100
READY_TIMEOUT = 180


def base_of(peer: str) -> str:
    """The server a peer runs: ``mlserver-grpc`` is MLServer, spoken to over gRPC."""
    return "mlserver" if peer.startswith("mlserver") else peer


def protocol_of(peer: str) -> str:
    if peer in BINARY_PEERS:
        return "binary"
    return "grpc" if peer in GRPC_PEERS else "json"


def measured(peer: str, rows: int, c: int) -> bool:
    """Whether ``peer`` has a (rows, c) cell at all."""
    if peer == "naive":
        return rows == 1
    if peer == MONITOR_OFF:
        return (rows, c) == (1, 64)
    if protocol_of(peer) != "json":
        return c == PROTOCOL_CONCURRENCY
    return True


def say(message: str) -> None:
    print(f"[serve] {message}", flush=True)


# -- virtualenvs --------------------------------------------------------------------------


def venv_pins(name: str) -> list[str]:
    extra = ("skops",) if name == "mlflow" else ()
    return VENV_PINS[name] + shared_pins(SHARED + extra)


def ensure_venv(name: str) -> tuple[Path | None, str | None]:
    """The virtualenv's folder, or None and why it cannot be had. Built only if missing."""
    return build_venv(VENVS / name, venv_pins(name), name, say)


def installed(venv: Path, names: list[str]) -> dict[str, str]:
    code = (
        "import json, sys\nfrom importlib import metadata\n"
        "print(json.dumps({n: metadata.version(n) for n in sys.argv[1:]}))"
    )
    done = subprocess.run(
        [str(venv_python(venv)), "-c", code, *names], capture_output=True, text=True, check=False
    )
    return json.loads(done.stdout) if done.returncode == 0 else {}


# -- environment and processes ------------------------------------------------------------


def server_env(venv: Path | None = None) -> dict[str, str]:
    """This environment without anything that would steer a peer; default native threads."""
    dropped = ("MODELYARD_", "MLFLOW_", "MLSERVER_")
    threads = {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(dropped) and key not in {"PYTHONPATH", "VIRTUAL_ENV", *threads}
    }
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "true"
    if venv is not None:
        # `mlflow models serve` and `mlserver start` spawn executables found on PATH.
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(venv)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None and int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name: fields[0] is state, [2] pgrp, [11] utime."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


TICK = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    total = 0
    for pid in group_pids(pgid):
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def machine_busy_seconds() -> float:
    """Non-idle CPU seconds of the whole machine since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICK


def group_rss_mib(pgid: int) -> float:
    total = 0
    for pid in group_pids(pgid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


@dataclass
class Server:
    peer: str
    model: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    predict_path: str
    grpc_port: int | None = None
    started: float = field(default_factory=time.perf_counter)

    @property
    def pgid(self) -> int:
        return self.process.pid  # started with start_new_session=True

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


LIVE: list[Server] = []


def stop(server: Server) -> None:
    """SIGTERM the whole process group, SIGKILL whatever is left after 10 s."""
    pgid = server.pgid
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            server.process.poll()  # reap the group leader
            alive = [p for p in group_pids(pgid) if (_stat_fields(p) or ["Z"])[0] != "Z"]
            if not alive:
                break
            time.sleep(0.05)
        else:
            continue
        break
    if server.process.poll() is None:
        server.process.wait(5)
    if server in LIVE:
        LIVE.remove(server)


def stop_all() -> None:
    for server in list(LIVE):
        stop(server)


def http(url: str, body: bytes | None = None, timeout: float = 30.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class PeerError(RuntimeError):
    pass


# -- the peers ----------------------------------------------------------------------------


@dataclass
class Prepared:
    """Per model, what every peer needs to start: files, folders and request bodies."""

    model: str
    joblib_file: Path
    mlflow_dir: Path | None
    mlserver_dir: Path | None
    yard_home: Path
    bodies: dict[tuple[str, int], Path]
    expected: list[int]
    header_lengths: dict[tuple[str, int], int] = field(default_factory=dict)  # binary bodies


def start(peer: str, prepared: Prepared, venvs: dict[str, Path], scratch: Path) -> Server:
    port = free_port()
    log = scratch / f"{peer}-{prepared.model}-{port}.log"
    cwd = scratch
    grpc_port = None
    if peer == "naive":
        venv = venvs["naive"]
        env = server_env(venv)
        env["BENCH_MODEL"] = str(prepared.joblib_file)
        command = [str(venv / "bin" / "uvicorn"), "naive_app:app", "--app-dir", str(PEER_FILES)]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        ready, route = "/docs", "/predict"
    elif peer == "mlflow":
        venv = venvs["mlflow"]
        env = server_env(venv)
        command = [str(venv / "bin" / "mlflow"), "models", "serve", "-m", str(prepared.mlflow_dir)]
        command += ["-h", "127.0.0.1", "-p", str(port), "--env-manager", "local", "-w", "1"]
        ready, route = "/ping", "/invocations"
    elif base_of(peer) == "mlserver":
        venv = venvs["mlserver"]
        env = server_env(venv)
        grpc_port = free_port()
        folder = mlserver_folder(prepared, scratch, port, grpc_port)
        command = [str(venv / "bin" / "mlserver"), "start", str(folder)]
        cwd = folder
        ready, route = "/v2/models/bench/ready", "/v2/models/bench/infer"
    else:
        env = server_env()
        command = [str(ROOT / ".venv" / "bin" / "modelyard"), "--home", str(prepared.yard_home)]
        command += ["serve", "--host", "127.0.0.1", "--port", str(port), "--dev"]
        if peer == MONITOR_OFF:
            env["MODELYARD_MONITORING"] = "false"
        if peer == "modelyard-2w":
            command += ["--workers", "2"]
        if peer in GRPC_PEERS:
            grpc_port = free_port()
            command += ["--grpc-port", str(grpc_port)]
        ready, route = "/health/ready", "/v1/endpoints/bench-api/predict"
        if peer in BINARY_PEERS:
            route = "/v2/models/bench-api/infer"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Server(peer, prepared.model, port, process, log, route, grpc_port)
    LIVE.append(server)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stop(server)
            why = _tail(log.read_text())
            raise PeerError(f"{peer} exited {process.returncode} at start: {why}")
        try:
            status, _ = http(server.url(ready), timeout=2)
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    stop(server)
    raise PeerError(f"{peer} not ready within {READY_TIMEOUT} s: {_tail(log.read_text())}")


def mlserver_folder(prepared: Prepared, scratch: Path, port: int, grpc_port: int) -> Path:
    assert prepared.mlserver_dir is not None
    folder = scratch / f"mlserver-{prepared.model}-{port}"
    folder.mkdir()
    settings = json.loads((PEER_FILES / "mlserver-settings.json").read_text(encoding="utf-8"))
    settings.update(http_port=port, grpc_port=grpc_port, metrics_port=free_port())
    model = json.loads((PEER_FILES / "mlserver-model-settings.json").read_text(encoding="utf-8"))
    model["parameters"]["uri"] = str(prepared.joblib_file)
    (folder / "settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    (folder / "model-settings.json").write_text(json.dumps(model, indent=2), encoding="utf-8")
    return folder


def body_for(peer: str, frame: Any) -> bytes:
    """One request of ``frame``'s rows in the peer's own format."""
    if peer in BINARY_PEERS:
        return binary_body(frame)[0]
    if peer in GRPC_PEERS:
        return grpc_body(frame, "bench" if base_of(peer) == "mlserver" else "bench-api")
    rows = frame.to_numpy(dtype=float)
    if peer == "naive":
        assert len(rows) == 1
        return json.dumps({"features": rows[0].tolist()}).encode()
    if peer == "mlflow":
        split = {"columns": list(frame.columns), "data": rows.tolist()}
        return json.dumps({"dataframe_split": split}).encode()
    if peer == "mlserver":
        tensor = {
            "name": "input-0",
            "shape": list(rows.shape),
            "datatype": "FP64",
            "data": rows.ravel().tolist(),
        }
        return json.dumps({"inputs": [tensor]}).encode()
    return json.dumps({"instances": frame.to_dict(orient="records")}).encode()


def predictions_of(peer: str, payload: bytes) -> list[int]:
    answer = json.loads(payload)
    if peer == "naive":
        return [int(answer["prediction"])]
    if peer == "mlserver":
        return [int(v) for v in answer["outputs"][0]["data"]]
    return [int(v) for v in answer["predictions"]]


def check(server: Server, frame: Any, expected: list[int]) -> None:
    """The peer's predictions equal the in-process model's, before any timing."""
    if server.peer == "naive":
        cases = [(frame.iloc[[i]], expected[i : i + 1]) for i in range(10)]
    else:
        cases = [(frame.iloc[[0]], expected[:1]), (frame.head(CHECK_ROWS), expected[:CHECK_ROWS])]
    for rows, wanted in cases:
        got = answer_of(server, rows)
        if got != wanted:
            raise PeerError(f"{server.peer}: predictions differ from the model's: {got[:10]}…")


def answer_of(server: Server, rows: Any) -> list[int]:
    """The peer's predictions for ``rows``, over the peer's protocol."""
    peer = server.peer
    if peer in GRPC_PEERS:
        try:
            return grpc_predictions(f"127.0.0.1:{server.grpc_port}", body_for(peer, rows))
        except Exception as exc:  # grpc.RpcError, or an answer without the output
            raise PeerError(f"{peer}: check call failed: {_tail(str(exc))}") from None
    if peer in BINARY_PEERS:
        body, length = binary_body(rows)
        headers = {"Inference-Header-Content-Length": str(length)}
        status, payload, answered = post(server.url(server.predict_path), body, headers)
        if status != 200:
            raise PeerError(f"{peer}: check request answered {status}: {payload[:300]!r}")
        return binary_predictions(answered, payload)
    status, payload = http(server.url(server.predict_path), body_for(peer, rows))
    if status != 200:
        raise PeerError(f"{peer}: check request answered {status}: {payload[:300]!r}")
    return predictions_of(peer, payload)


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    """A POST with raw headers; status, body and the response's headers (names in lower
    case)."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), _lower(response.headers.items())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), _lower(exc.headers.items())


def _lower(headers: Any) -> dict[str, str]:
    return {key.lower(): value for key, value in headers}


# -- load ---------------------------------------------------------------------------------


def wrk(
    server: Server, body: Path, connections: int, seconds: float, header_length: int | None
) -> dict[str, Any]:
    """wrk (or, for gRPC, grpc_load.py) for ``seconds``: its BENCH_JSON summary."""
    if server.grpc_port is not None:
        target = f"127.0.0.1:{server.grpc_port}"
        command = [sys.executable, str(GRPC_LOAD), target, str(body), str(connections)]
        command.append(str(max(1, round(seconds))))
    else:
        command = [WRK, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
        command += ["--timeout", "10s", "-s", str(LUA), server.url(server.predict_path)]
    env = dict(os.environ, BENCH_BODY=str(body))
    if header_length is not None:
        env["BENCH_HEADER_LENGTH"] = str(header_length)
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=seconds + 60, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    raise PeerError(f"wrk failed (exit {done.returncode}): {_tail(done.stdout + done.stderr)}")


def window(
    server: Server,
    body: Path,
    rows: int,
    connections: int,
    seconds: float,
    warmup: float,
    header_length: int | None = None,
) -> dict[str, Any]:
    if warmup > 0:
        wrk(server, body, connections, warmup, header_length)
    if server.process.poll() is not None:
        raise PeerError(f"{server.peer} died: {_tail(server.log.read_text())}")
    cpu_before = group_cpu_seconds(server.pgid)
    busy_before = machine_busy_seconds()
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = wrk(server, body, connections, seconds, header_length)
    cpu = group_cpu_seconds(server.pgid) - cpu_before
    busy = machine_busy_seconds() - busy_before
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = wrk_after.ru_utime - wrk_before.ru_utime + wrk_after.ru_stime - wrk_before.ru_stime
    duration = out["duration_us"] / 1e6
    errors = out["connect"] + out["read"] + out["write"] + out["timeout"]
    ok = max(out["requests"] - out["non_2xx"], 0)
    return {
        "req_s": ok / duration,
        "rows_s": ok * rows / duration,
        "p50_ms": out["p50_us"] / 1000,
        "p99_ms": out["p99_us"] / 1000,
        "max_ms": out["max_us"] / 1000,
        "requests": out["requests"],
        "non_2xx": out["non_2xx"],
        "socket_errors": errors,
        "cpu_ms_per_req": 1000 * cpu / out["requests"] if out["requests"] else None,
        "cpu_s": cpu,
        "rss_mib": group_rss_mib(server.pgid),
        "wrk_cpu_s": wrk_cpu,
        # CPU the rest of the machine used meanwhile (other processes): contamination check.
        "other_cpu_s": max(busy - cpu - wrk_cpu, 0.0),
        "seconds": duration,
    }


# -- preparing the models -----------------------------------------------------------------


def train(scratch: Path) -> tuple[Any, dict[str, Path]]:
    import joblib
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame, target = load_breast_cancer(return_X_y=True, as_frame=True)
    models = {
        "hgb": HistGradientBoostingClassifier(max_iter=100, random_state=0),
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    }
    files = {}
    for name, model in models.items():
        model.fit(frame, target)
        files[name] = scratch / f"{name}.joblib"
        joblib.dump(model, files[name])
    return frame, files


def ceiling(model_file: Path, frame: Any) -> dict[str, float]:
    """In-process predict on 64 rows (and on 1 row), median of 200 calls, default threads."""
    import joblib

    model = joblib.load(model_file)
    result = {}
    for rows in (CEILING_ROWS, 1):
        batch = frame.head(rows)
        for _ in range(20):
            model.predict(batch)
        times = []
        for _ in range(200):
            started = time.perf_counter()
            model.predict(batch)
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        result[f"predict_{rows}_ms"] = median * 1000
        result[f"rows_s_{rows}"] = rows / median
    return result


def prepare(
    name: str, model_file: Path, frame: Any, venvs: dict[str, Path], scratch: Path
) -> tuple[Prepared, dict[str, str]]:
    """The MLflow folder, the MLServer model, the modelyard home and the request bodies."""
    import joblib
    import skops.io

    from modelyard import Yard

    problems: dict[str, str] = {}
    model = joblib.load(model_file)
    expected = [int(v) for v in model.predict(frame)]

    mlflow_dir = None
    if "mlflow" in venvs:
        # What MLflow's error message asks for: the types skops does not trust by default.
        trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
        mlflow_dir = scratch / f"mlflow-{name}"
        done = subprocess.run(
            [
                str(venv_python(venvs["mlflow"])),
                str(PEER_FILES / "mlflow_save.py"),
                *(str(model_file), str(mlflow_dir), *trusted),
            ],
            capture_output=True,
            text=True,
            env=server_env(venvs["mlflow"]),
            cwd=scratch,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            problems["mlflow"] = f"save_model failed: {_tail(done.stderr)}"
            mlflow_dir = None
        else:
            say(f"{name}: MLflow model saved (skops_trusted_types={trusted})")

    home = scratch / f"yard-{name}"
    Yard(home).register(model, "bench", sample=frame)
    done = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "modelyard"),
            *("--home", str(home), "endpoint", "create", "bench-api", "--model", "bench@1"),
        ],
        capture_output=True,
        text=True,
        env=server_env(),
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"modelyard endpoint create failed: {_tail(done.stdout + done.stderr)}")
    say(f"{name}: registered in a fresh modelyard home, endpoint bench-api -> bench@1")

    bodies = {}
    header_lengths = {}
    for peer in PEERS:
        for rows in (1, 100):
            if peer == "naive" and rows != 1:
                continue
            path = scratch / f"body-{name}-{peer}-{rows}.bin"
            path.write_bytes(body_for(peer, frame.head(rows)))
            bodies[(peer, rows)] = path
            if peer in BINARY_PEERS:
                header_lengths[(peer, rows)] = binary_body(frame.head(rows))[1]
    prepared = Prepared(
        name,
        model_file,
        mlflow_dir,
        scratch if "mlserver" in venvs else None,
        home,
        bodies,
        expected,
        header_lengths,
    )
    return prepared, problems


# -- summary ------------------------------------------------------------------------------

METRICS = ("req_s", "rows_s", "p50_ms", "p99_ms", "cpu_ms_per_req", "rss_mib", "other_cpu_s")


def summarise(windows: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"runs": len(windows)}
    for metric in METRICS:
        values = [w[metric] for w in windows if w.get(metric) is not None]
        summary[metric] = statistics.median(values) if values else None
        summary[f"{metric}_min"] = min(values) if values else None
        summary[f"{metric}_max"] = max(values) if values else None
    summary["non_2xx"] = sum(w["non_2xx"] for w in windows)
    summary["socket_errors"] = sum(w["socket_errors"] for w in windows)
    return summary


def cells_of(windows: list[dict[str, Any]]) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    keys = sorted({(w["model"], w["rows"], w["c"], w["peer"]) for w in windows})
    for model, rows, c, peer in keys:
        matching = [
            w
            for w in windows
            if (w["model"], w["rows"], w["c"], w["peer"]) == (model, rows, c, peer)
        ]
        cells[f"{model}|{rows}|{c}|{peer}"] = summarise(matching)
    return cells


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def markdown_table(cells: dict[str, Any], model: str, rows: int, concurrencies: list[int]) -> str:
    lines = [
        "| c | peer | req/s | rows/s | p50 ms | p99 ms | non-2xx / errors | CPU ms/req | RSS MiB"
        " | other CPU s | runs |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in concurrencies:
        for peer in PEERS:
            s = cells.get(f"{model}|{rows}|{c}|{peer}")
            if s is None:
                continue
            req_range = f" ({fmt(s['req_s_min'])}–{fmt(s['req_s_max'])})" if s["runs"] > 1 else ""
            lines.append(
                f"| {c} | {peer} | {fmt(s['req_s'])}{req_range} | {fmt(s['rows_s'])} | "
                f"{fmt(s['p50_ms'], 2)} | {fmt(s['p99_ms'], 1)} | "
                f"{s['non_2xx']} / {s['socket_errors']} | {fmt(s['cpu_ms_per_req'], 2)} | "
                f"{fmt(s['rss_mib'])} | {fmt(s.get('other_cpu_s'), 1)} | {s['runs']} |"
            )
    return "\n".join(lines)


def targets(cells: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, judged on the medians of this run."""
    verdicts = []
    for model in MODELS:
        me = cells.get(f"{model}|1|64|modelyard-1w")
        ms = cells.get(f"{model}|1|64|mlserver")
        if me and ms:
            # a peer that answered nothing but errors has no throughput to divide by
            ratio = me["req_s"] / ms["req_s"] if ms["req_s"] else float("inf")
            met = ms["req_s"] > 0 and ratio >= 1.5 and me["p99_ms"] < ms["p99_ms"]
            verdicts.append(
                {
                    "target": f"{model}, 1-row, c=64: modelyard-1w >= 1.5x MLServer req/s "
                    "and a lower p99",
                    "met": met,
                    "detail": f"{me['req_s']:,.0f} vs {ms['req_s']:,.0f} req/s = {ratio:.2f}x; "
                    f"p99 {me['p99_ms']:.1f} vs {ms['p99_ms']:.1f} ms",
                }
            )
        for suffix, form in (("bin", "binary-tensor HTTP"), ("grpc", "gRPC")):
            mine = cells.get(f"{model}|1|64|modelyard-1w-{suffix}")
            theirs = cells.get(f"{model}|1|64|mlserver-{suffix}")
            if mine and theirs:
                ratio = mine["req_s"] / theirs["req_s"] if theirs["req_s"] else float("inf")
                verdicts.append(
                    {
                        "target": f"{model}, 1-row, c=64, {form}: modelyard-1w >= MLServer req/s",
                        "met": ratio >= 1.0,
                        "detail": f"{mine['req_s']:,.0f} vs {theirs['req_s']:,.0f} req/s = "
                        f"{ratio:.2f}x; p99 {mine['p99_ms']:.1f} vs {theirs['p99_ms']:.1f} ms",
                    }
                )
        off = cells.get(f"{model}|1|64|{MONITOR_OFF}")
        if me and off:
            kept = me["req_s"] / off["req_s"]
            verdicts.append(
                {
                    "target": f"{model}, 1-row, c=64: monitoring on keeps >= 90% of the "
                    "throughput of monitoring off",
                    "met": kept >= 0.9,
                    "detail": f"{me['req_s']:,.0f} vs {off['req_s']:,.0f} req/s = {kept:.0%}; "
                    f"p99 {me['p99_ms']:.1f} vs {off['p99_ms']:.1f} ms",
                }
            )
        me1 = cells.get(f"{model}|1|1|modelyard-1w")
        naive = cells.get(f"{model}|1|1|naive")
        if me1 and naive:
            verdicts.append(
                {
                    "target": f"{model}, 1-row, c=1: modelyard-1w p50 <= naive app p50",
                    "met": me1["p50_ms"] <= naive["p50_ms"],
                    "detail": f"p50 {me1['p50_ms']:.2f} vs {naive['p50_ms']:.2f} ms",
                }
            )
    return verdicts


def write_markdown(report: dict[str, Any]) -> None:
    m = report["machine"]
    lines = [
        "## Serving",
        "",
        "Written by `bench/serve.py` (see the `serve` section of `bench/README.md` for method",
        "and caveats); every window is in `bench/results/serve.json`.",
        "",
        f"- date: {report['date']}",
        f"- machine: {m['cores']} cores, {m['cpu']}, {m['memory_gib']} GiB, {m['platform']}, "
        f"Python {m['python']}",
        f"- command: `{report['command']}`",
        f"- runs: {report['runs']} per cell, medians (req/s range in brackets), peers interleaved "
        f"and rotated per run; {report['thin_note']}",
        f"- window: {report['seconds']:g} s per cell after a {report['warmup']:g} s warm-up; "
        "wrk -t1, one fixed body per cell",
        "- pins: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in report["pins"].items()),
        "",
        "### Targets (issues 3 and 4), one modelyard worker, same run",
        "",
    ]
    for v in report["targets"]:
        lines.append(f"- **{'MET' if v['met'] else 'NOT MET'}** — {v['target']}: {v['detail']}")
    busy = [w for w in report["windows"] if (w.get("other_cpu_s") or 0) > 1.0]
    if busy:
        lines += [
            "",
            f"**Warning: {len(busy)} of {len(report['windows'])} windows ran while other "
            "processes used more than 1 CPU-second (column 'other CPU s'); rerun on a quiet "
            "machine before quoting these figures.**",
        ]
    if report["problems"]:
        lines += ["", "Peers not measured or failed:", ""]
        lines += [f"- {peer}: {why}" for peer, why in report["problems"].items()]
    lines += ["", "### In-process ceiling (`model.predict`, median of 200 calls, default threads)"]
    lines += ["", "| model | 64 rows: ms / call | 64 rows: rows/s | 1 row: ms / call |"]
    lines += ["|---|---:|---:|---:|"]
    for model, c in report["ceiling"].items():
        lines.append(
            f"| {model} | {c['predict_64_ms']:.3f} | {c['rows_s_64']:,.0f} | "
            f"{c['predict_1_ms']:.3f} |"
        )
    for model in report["models"]:
        for rows in report["rows"]:
            title = "one-row" if rows == 1 else f"{rows}-row"
            naive = " (the naive app takes one row only)" if rows != 1 else ""
            lines += ["", f"### {MODEL_TITLES[model]}, {title} requests{naive}", ""]
            lines.append(markdown_table(report["cells"], model, rows, report["concurrency"]))
    replace_section(RESULTS_MD, "serve", "\n".join(lines))


def replace_section(path: Path, name: str, text: str) -> None:
    """Rewrite this bench's part of a shared results file, keeping the other benches' parts."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text}\n{end}\n"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in old and end in old:
        before, rest = old.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        new = before + block + ("\n" + after if after else "")
    else:
        new = block + ("\n" + old if old else "")
    path.write_text(new, encoding="utf-8")


# -- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s, c=1 and 64, HGB only, 1 run")
    parser.add_argument("--runs", type=int, default=None, help="runs per cell (default 3)")
    parser.add_argument("--seconds", type=float, default=None, help="window length (10; quick 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument(
        "--every-run",
        action="store_true",
        help="measure 100-row and c=8 cells in every run (default: first run only; ~10 min less)",
    )
    parser.add_argument(
        "--render",
        nargs="?",
        type=Path,
        const=RESULTS_JSON,
        help="only rewrite bench/RESULTS.md from a results JSON (default results/serve.json)",
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=PEERS, help="peers to leave out")
    args = parser.parse_args()
    if args.render:
        report = json.loads(args.render.read_text(encoding="utf-8"))
        report["cells"] = cells_of(report["windows"])
        report["targets"] = targets(report["cells"])
        write_markdown(report)
        print(f"written {RESULTS_MD.relative_to(ROOT)}")
        return 0
    runs = args.runs if args.runs is not None else (1 if args.quick else 3)
    seconds = args.seconds if args.seconds is not None else (5.0 if args.quick else 10.0)
    concurrency = [1, 64] if args.quick else [1, 8, 64]
    models = ["hgb"] if args.quick else list(MODELS)
    row_sizes = [1, 100]
    if runs < 1:
        parser.error("--runs must be at least 1")
    thin = not args.every_run and runs > 1 and 8 in concurrency

    def interrupted(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    try:
        return run(args, runs, seconds, concurrency, models, row_sizes, thin)
    except KeyboardInterrupt:
        say("interrupted; stopping servers")
        return 130
    finally:
        stop_all()


def run(
    args: argparse.Namespace,
    runs: int,
    seconds: float,
    concurrency: list[int],
    models: list[str],
    row_sizes: list[int],
    thin: bool,
) -> int:
    say(f"machine: {machine()}")
    if not Path(WRK).exists():
        raise SystemExit("wrk not found (apt-get install wrk)")
    problems: dict[str, str] = {}
    venvs: dict[str, Path] = {}
    pins: dict[str, list[str]] = {"modelyard (project .venv)": shared_pins((*SHARED, "skops"))}
    for peer, venv_name in PEER_VENV.items():
        if all(p in args.skip for p in PEERS if base_of(p) == peer):
            continue
        venv, problem = ensure_venv(venv_name)
        if venv is None:
            problems[peer] = problem or "unavailable"
            say(f"{peer.upper()} UNAVAILABLE: {problem}")
            continue
        venvs[peer] = venv
        pins[peer] = venv_pins(venv_name)
    peers = [p for p in PEERS if p not in args.skip and base_of(p) not in problems]

    windows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="modelyard-serve-bench-") as tmp:
        scratch = Path(tmp)
        say("training HGB and LogisticRegression on breast cancer")
        frame, files = train(scratch)
        prepared: dict[str, Prepared] = {}
        ceilings = {}
        for model in models:
            ceilings[model] = ceiling(files[model], frame)
            c = ceilings[model]
            say(
                f"{model}: in-process predict 64 rows {c['predict_64_ms']:.3f} ms "
                f"({c['rows_s_64']:,.0f} rows/s), 1 row {c['predict_1_ms']:.3f} ms"
            )
            prepared[model], failed = prepare(model, files[model], frame, venvs, scratch)
            for peer, why in failed.items():
                problems[peer] = why
                say(f"{peer.upper()} UNAVAILABLE: {why}")
        peers = [p for p in peers if base_of(p) not in problems]
        per_server = sum(
            1 for rows in row_sizes for c in concurrency for p in peers if measured(p, rows, c)
        )
        per_model = per_server * (seconds + args.warmup + 0.5) + 8 * len(peers)
        estimate = runs * len(models) * per_model
        say(f"peers: {', '.join(peers)}; about {estimate / 60:.0f} minutes of load")

        for run_index in range(runs):
            order = peers[run_index % len(peers) :] + peers[: run_index % len(peers)]
            for model in models:
                for peer in order:
                    cells = [
                        (rows, c)
                        for rows in row_sizes
                        for c in concurrency
                        if measured(peer, rows, c)
                        and not (thin and run_index > 0 and (rows == 100 or c == 8))
                    ]
                    started = time.perf_counter()
                    try:
                        server = start(peer, prepared[model], venvs, scratch)
                        startup = time.perf_counter() - started
                        try:
                            check(server, frame, prepared[model].expected)
                            for rows, c in cells:
                                body = prepared[model].bodies[(peer, rows)]
                                length = prepared[model].header_lengths.get((peer, rows))
                                w = window(server, body, rows, c, seconds, args.warmup, length)
                                w.update(run=run_index, model=model, peer=peer, rows=rows, c=c)
                                w["startup_s"] = startup
                                windows.append(w)
                                say(
                                    f"run {run_index + 1} {model:6} {peer:12} rows={rows:<3} "
                                    f"c={c:<2} {w['req_s']:8,.0f} req/s  p50 "
                                    f"{w['p50_ms']:7.2f}  p99 {w['p99_ms']:7.1f} ms  "
                                    f"cpu {w['cpu_ms_per_req'] or 0:.2f} ms/req  "
                                    f"non2xx {w['non_2xx']} err {w['socket_errors']}  "
                                    f"other cpu {w['other_cpu_s']:.1f} s"
                                )
                        finally:
                            stop(server)
                    except PeerError as exc:
                        say(f"{peer} FAILED on {model} in run {run_index + 1}: {exc}")
                        problems[f"{peer} ({model}, run {run_index + 1})"] = str(exc)

    cells = cells_of(windows)

    pins.update(
        {
            f"{peer} (installed)": [f"{k}=={v}" for k, v in installed(venv, names).items()]
            for peer, venv, names in (
                ("mlserver", venvs.get("mlserver"), ["mlserver", "uvloop", "fastapi", "uvicorn"]),
                ("naive", venvs.get("naive"), ["fastapi", "uvicorn", "pydantic"]),
            )
            if venv is not None
        }
    )
    thin_note = (
        "100-row cells and c=8 cells measured in the first run only (1 run); "
        "the target cells (1-row, c=1 and c=64) in every run"
        if thin
        else "every cell in every run"
    )
    report = {
        "benchmark": "serve",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python bench/serve.py", *sys.argv[1:]]),
        "machine": machine(),
        "models": models,
        "rows": row_sizes,
        "concurrency": concurrency,
        "runs": runs,
        "seconds": seconds,
        "warmup": args.warmup,
        "thin_note": thin_note,
        "pins": pins,
        "problems": problems,
        "ceiling": ceilings,
        "targets": [],
        "cells": cells,
        "windows": windows,
    }
    report["targets"] = targets(cells)

    print()
    for model in models:
        for rows in row_sizes:
            print(f"{MODEL_TITLES[model]}, {rows}-row requests")
            print(markdown_table(cells, model, rows, concurrency))
            print()
    for v in report["targets"]:
        print(f"{'MET' if v['met'] else 'NOT MET'}: {v['target']}: {v['detail']}")
    for peer, why in problems.items():
        print(f"not measured / failed: {peer}: {why}")

    out = QUICK_JSON if args.quick else RESULTS_JSON
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written {out.relative_to(ROOT)}")
    if not args.quick:
        write_markdown(report)
        print(f"written {RESULTS_MD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
