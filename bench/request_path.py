"""modelyard's request path against its floor, and one checkout against another, in one run.

    .venv/bin/python bench/request_path.py [--seconds 6] [--rounds 3] [--against main]
        [--workers 1,2] [--rows 1,100] [--profile DIR]

Measures, interleaved round by round on the same machine (a busy machine moves every
figure, not their ratios):

- ``trivial``: the floor of HTTP here, ``bench/serve_peers/apps/trivial_app.py`` (reads
  the body, answers a fixed JSON) under uvicorn with uvloop + httptools, one worker, one-row body;
- ``model``: HistGradientBoostingClassifier(max_iter=100) on breast cancer, in process,
  ``predict_proba`` on 64-row batches (median of 200 calls; the fastest of a DataFrame or a
  matrix, default native threads or one; measured each round): rows/s;
- ``ceiling`` = 1 / (1/trivial + 1/model): a server that paid only those two costs;
- ``this``: this checkout's ``modelyard serve --dev`` (monitoring on, probabilities and ids
  returned), ``--workers`` 1 and 2; ``against``: the same from another revision's ``src/``
  (``git archive REV src``, run on this checkout's virtualenv).

Load is wrk (``-t1``, ``bench/serve_peers/post.lua``) at c=64 for ``--seconds`` after a
warm-up of 2 s, one fresh server per window. It prints req/s, rows/s, p50/p99, non-2xx,
server CPU µs per request, and the ratios (this / ceiling, 2 workers / 1, this / against).
``--profile DIR`` also records the one-worker, one-row server of each revision with
``py-spy record --gil`` (samples of the thread holding the GIL) during one extra window
and prints where they go (``DIR/<rev>.txt``, collapsed stacks; summarised per frame).
``--in-process REQUESTS`` measures instead the process CPU per one-row request through
the app driven straight through ASGI (``bench/_asgi_driver.py``): no HTTP, no client,
so far less noise on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
POST_LUA = BENCH / "serve_peers" / "post.lua"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
PYTHON = ROOT / ".venv" / "bin" / "python"
ROUTE = "/v1/endpoints/bench-api/predict"
CONNECTIONS = 64
EXTRA_ENV: dict[str, str] = {}  # --env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(src: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD_", "PROMETHEUS"))}
    if src is not None:
        env["PYTHONPATH"] = str(src)  # ahead of the editable install's path
    return env


def prepare(scratch: Path, estimator: Any = None) -> tuple[Path, dict[int, Path], Any, Any]:
    """A yard with the model behind ``bench-api`` (``estimator``, unfitted; by default
    HistGradientBoostingClassifier(max_iter=100)), the request bodies, the model and a
    64-row batch (for its in-process rows/s)."""
    import warnings

    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier

    from modelyard import Yard

    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    frame, target = load_breast_cancer(return_X_y=True, as_frame=True)
    if estimator is None:
        estimator = HistGradientBoostingClassifier(max_iter=100, random_state=0)
    model = estimator.fit(frame, target)
    home = scratch / "seed"
    yard = Yard(home)
    yard.register(model, "bench", sample=frame)
    yard.create_endpoint("bench-api", "bench@1")
    yard.close()
    bodies = {}
    for rows in (1, 100):
        bodies[rows] = scratch / f"body-{rows}.json"
        records = frame.head(rows).to_dict(orient="records")
        bodies[rows].write_bytes(json.dumps({"instances": records}).encode())
    return home, bodies, model, frame.head(64)


def model_rows_s(model: Any, batch: Any) -> float:
    """``predict_proba`` rows/s on a 64-row batch, median of 200 calls, in the fastest of
    the ways it can be called here (a DataFrame or a float matrix; default native threads
    or one): the highest ceiling, so no choice of the server's can flatter the ratio."""
    from threadpoolctl import threadpool_limits

    best = 0.0
    for rows in (batch, batch.to_numpy(dtype=float)):
        for threads in (None, 1):
            with threadpool_limits(limits=threads):
                for _ in range(20):
                    model.predict_proba(rows)
                times = []
                for _ in range(200):
                    started = time.perf_counter()
                    model.predict_proba(rows)
                    times.append(time.perf_counter() - started)
            best = max(best, len(batch) / statistics.median(times))
    return best


class Server:
    def __init__(self, command: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.log = log

    def wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"server not ready: {self.log.read_text()[-2000:]}")

    def cpu_seconds(self) -> float:
        """User + system CPU of every process in the server's group (workers included)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.process.pid:  # field 5: process group
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(
    variant: str,
    src: Path | None,
    home: Path,
    workers: int,
    scratch: Path,
    extra: tuple[str, ...] = (),
) -> Server:
    port = free_port()
    log = scratch / f"{variant}-{workers}w-{port}.log"
    if variant == "trivial":
        apps = BENCH / "serve_peers" / "apps"  # the same app as bench/serve.py's ceiling
        command = [str(PYTHON), "-m", "uvicorn", "trivial_app:app", "--app-dir", str(apps)]
        command += ["--loop", "uvloop", "--http", "httptools", "--lifespan", "off"]
        command += ["--no-access-log"]
        command += ["--port", str(port), "--log-level", "warning"]
        server = Server(command, clean_env(None), port, log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return server
            except OSError:
                time.sleep(0.1)
        raise SystemExit("trivial app did not start")
    copy = scratch / f"home-{variant}-{workers}w-{port}"
    shutil.copytree(home, copy)
    command = [str(PYTHON), "-c", "from modelyard.cli.app import main; main()"]
    command += ["--home", str(copy), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--dev", "--workers", str(workers), *extra]
    server = Server(command, {**clean_env(src), **EXTRA_ENV}, port, log)
    server.wait_ready("/health/ready")
    return server


def check_answer(port: int, body: bytes) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{ROUTE}", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    assert answer["probabilities"], answer
    assert answer["prediction_ids"], answer


def wrk(
    port: int,
    path: str,
    body: Path,
    seconds: float,
    connections: int = CONNECTIONS,
    header_length: int | None = None,
) -> dict[str, Any]:
    """``header_length``: ``body`` is a v2 body with binary tensors after that many bytes."""
    command = [WRK, "-t1", f"-c{connections}", f"-d{round(seconds)}s", "-s", str(POST_LUA)]
    command += [f"http://127.0.0.1:{port}{path}"]
    env = {**os.environ, "BENCH_BODY": str(body)}
    if header_length is not None:
        env["BENCH_HEADER_LENGTH"] = str(header_length)
    done = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            return result
    raise SystemExit(f"wrk failed: {done.stdout}{done.stderr}")


def window(server: Server, path: str, body: Path, rows: int, seconds: float) -> dict[str, float]:
    wrk(server.port, path, body, 2)  # warm-up
    cpu = server.cpu_seconds()
    out = wrk(server.port, path, body, seconds)
    cpu = server.cpu_seconds() - cpu
    duration = out["duration_us"] / 1e6
    requests = out["requests"]
    return {
        "req_s": requests / duration,
        "rows_s": requests * rows / duration,
        "p50_ms": out["p50_us"] / 1000,
        "p99_ms": out["p99_us"] / 1000,
        "non_2xx": out["non_2xx"] + out["connect"] + out["read"] + out["write"] + out["timeout"],
        "cpu_us_per_req": cpu / max(requests, 1) * 1e6,
    }


def profile(server: Server, body: Path, seconds: float, out: Path) -> None:
    """py-spy samples of every thread of the one-worker server while wrk drives it."""
    pids = [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _ppid(p) == server.process.pid
    ] or [server.process.pid]
    spy = shutil.which("py-spy", path=str(PYTHON.parent)) or "py-spy"
    wrk(server.port, ROUTE, body, 2)
    recorder = subprocess.Popen(
        [
            *(spy, "record", "--format", "raw", "--rate", "250", "--threads", "--gil"),
            *("--duration", str(int(seconds)), "--output", str(out), "--pid", str(pids[-1])),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    wrk(server.port, ROUTE, body, seconds)
    recorder.wait(60)


def _ppid(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def summarise_profile(collapsed: Path, top: int = 30) -> str:
    """Per frame (``function (file)``): share of all samples in which it is on the stack,
    and share in which it is the innermost frame."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [f.split(":")[0].strip() for f in stack.split(";")[1:]]  # [0] is the thread
        frames = [f.replace(str(ROOT) + "/", "") for f in frames]
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        if frames:
            own[frames[-1]] += n
    lines = [f"{total} samples; on the stack % / innermost %"]
    for frame, n in inclusive.most_common(top):
        lines.append(f"{100 * n / total:5.1f} {100 * own[frame] / total:5.1f}  {frame}")
    lines.append("innermost:")
    for frame, n in own.most_common(top):
        lines.append(f"{100 * n / total:5.1f}  {frame}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", default=None, help="a git revision to compare with")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--rows", default="1,100")
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument(
        "--in-process",
        type=int,
        default=0,
        metavar="REQUESTS",
        help="instead of HTTP: CPU per one-row request through the app (bench/_asgi_driver.py)",
    )
    parser.add_argument(
        "--env", action="append", default=[], help="NAME=VALUE for every modelyard server"
    )
    args = parser.parse_args()
    EXTRA_ENV.update(e.split("=", 1) for e in args.env)
    workers = [int(w) for w in args.workers.split(",")]
    row_counts = [int(r) for r in args.rows.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="request-path-"))
    live: list[Server] = []
    try:
        home, bodies, model, batch = prepare(scratch)
        speeds: list[float] = []
        revisions: dict[str, Path | None] = {"this": None}
        if args.against:
            src = scratch / "against"
            src.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.against, "src"],
                capture_output=True,
                check=True,
            )
            subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
            revisions[args.against] = src / "src"
        if args.in_process:
            in_process(revisions, home, bodies[1], args.in_process, args.rounds, scratch)
            return 0
        cells: dict[tuple[str, int, int], list[dict[str, float]]] = {}
        for round_ in range(args.rounds):
            order = list(revisions.items())
            if round_ % 2:
                order.reverse()
            server = start("trivial", None, home, 1, scratch)
            live.append(server)
            cells.setdefault(("trivial", 1, 1), []).append(
                window(server, "/", bodies[1], 1, args.seconds)
            )
            server.stop()
            speeds.append(model_rows_s(model, batch))
            for name, src in order:
                for w in workers:
                    server = start(name, src, home, w, scratch)
                    live.append(server)
                    check_answer(server.port, bodies[1].read_bytes())
                    for rows in row_counts:
                        if w != 1 and rows != 1:
                            continue
                        result = window(server, ROUTE, bodies[rows], rows, args.seconds)
                        cells.setdefault((name, w, rows), []).append(result)
                        print(f"round {round_ + 1} {name} {w}w {rows} rows: {result}", flush=True)
                    server.stop()
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            for name, src in revisions.items():
                server = start(name, src, home, 1, scratch)
                live.append(server)
                out = args.profile / f"{name.replace('/', '_')}.txt"
                profile(server, bodies[1], args.seconds, out)
                server.stop()
                print(f"\n## profile {name} (one worker, one row, c={CONNECTIONS})")
                print(summarise_profile(out))
        if cells:
            report(cells, statistics.median(speeds), revisions)
    finally:
        for server in live:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def in_process(
    revisions: dict[str, Path | None],
    home: Path,
    body: Path,
    total: int,
    rounds: int,
    scratch: Path,
) -> None:
    """Each revision's app in a fresh process per round, interleaved: process CPU µs per
    one-row request (model thread and monitoring included; no HTTP server, no client)."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in revisions}
    for round_ in range(rounds):
        order = list(revisions.items())
        if round_ % 2:
            order.reverse()
        for name, src in order:
            copy = scratch / f"inproc-{name.replace('/', '_')}-{round_}"
            shutil.copytree(home, copy)
            driver = [str(PYTHON), str(BENCH / "_asgi_driver.py"), str(copy), str(body), str(total)]
            done = subprocess.run(
                driver,
                env={**clean_env(src), **EXTRA_ENV},
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"{name}: {done.stderr[-2000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results[name].append(result)
            print(f"round {round_ + 1} {name}: {result}", flush=True)
    medians = {n: statistics.median(r["cpu_us_per_req"] for r in rs) for n, rs in results.items()}
    for name, value in medians.items():
        print(f"{name}: {value:.1f} µs CPU per request (median of {rounds})")
    names = list(medians)
    if len(names) == 2:
        print(f"this / {names[1]}: {medians['this'] / medians[names[1]]:.2f}x CPU per request")


def report(
    cells: dict[tuple[str, int, int], list[dict[str, float]]],
    model_speed: float,
    revisions: dict[str, Path | None],
) -> None:
    med = {
        key: {m: statistics.median(r[m] for r in runs) for m in runs[0]}
        for key, runs in cells.items()
    }
    trivial = med[("trivial", 1, 1)]["req_s"]
    ceiling = 1 / (1 / trivial + 1 / model_speed)
    print(f"\ntrivial ASGI {trivial:,.0f} req/s; model {model_speed:,.0f} rows/s (64-row")
    print(
        f"predict_proba); ceiling {ceiling:,.0f} req/s (medians of {len(cells[('trivial', 1, 1)])})"
    )
    print("| revision | workers | rows | req/s | rows/s | p50 ms | p99 ms | non-2xx | CPU µs/req |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (name, w, rows), m in med.items():
        if name == "trivial":
            continue
        print(
            f"| {name} | {w} | {rows} | {m['req_s']:,.0f} | {m['rows_s']:,.0f} | "
            f"{m['p50_ms']:.1f} | {m['p99_ms']:.1f} | {m['non_2xx']:.0f} | "
            f"{m['cpu_us_per_req']:.0f} |"
        )
    for name in revisions:
        one = med.get((name, 1, 1))
        two = med.get((name, 2, 1))
        if one:
            print(f"{name}: one worker, one row = {one['req_s'] / ceiling:.1%} of the ceiling")
        if one and two:
            print(f"{name}: two workers / one = {two['req_s'] / one['req_s']:.2f}x")
    names = list(revisions)
    if len(names) == 2:
        for (name, w, rows), m in med.items():
            other = med.get((names[1], w, rows))
            if name == "this" and other:
                print(
                    f"this / {names[1]} ({w}w, {rows} rows): req/s "
                    f"{m['req_s'] / other['req_s']:.2f}x, "
                    f"p99 {m['p99_ms'] / other['p99_ms']:.2f}x, "
                    f"CPU/req {m['cpu_us_per_req'] / other['cpu_us_per_req']:.2f}x"
                )


if __name__ == "__main__":
    sys.exit(main())
