"""What the inference routes' HTTP cycle costs: serving/lean_cycle.py against uvicorn's.

    .venv/bin/python bench/http_cycle.py [--rounds 5] [--seconds 5] [--connections 64]

One server process: the trivial ASGI app of the combined ceiling
(``serve_peers/apps/trivial_app.py``: reads the body, answers a fixed one-row JSON) behind
the connection protocol modelyard serves with (serving/protocol.py: uvloop, httptools, its
deadlines). A POST to an inference route's path (``/v1/endpoints/bench/predict``) rides the
lean cycle; the same POST to another path (``/uvicorn/bench/predict``) rides uvicorn's
``RequestResponseCycle``; the app answers both alike. wrk (``-t1``, ``serve_peers/post.lua``)
loads one path, then the other, in windows alternating within each round (the order turns
every round), so both meet the same machine minute by minute, and the server's CPU per
request (utime + stime over the window) is the figure. A model server pays the rest of its
request on top of this; what the cycle saves here it saves there.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import request_path as rp

LEAN = "/v1/endpoints/bench/predict"
UVICORN = "/uvicorn/bench/predict"
BODY = b'{"instances": [{"x": 1.0}]}'
APP = """
import sys
sys.path.insert(0, {apps!r})
import uvicorn
from modelyard.config import Settings
from modelyard.serving.protocol import protocol_for
uvicorn.run("trivial_app:app", host="127.0.0.1", port={port}, loop="uvloop",
            http=protocol_for(Settings()), lifespan="off", access_log=False,
            log_level="warning")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=rp.CONNECTIONS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="http-cycle-") as scratch_dir:
        scratch = Path(scratch_dir)
        body = scratch / "body.json"
        body.write_bytes(BODY)
        port = rp.free_port()
        script = APP.format(apps=str(rp.BENCH / "serve_peers" / "apps"), port=port)
        command = [str(rp.PYTHON), "-c", script]
        server = rp.Server(command, rp.clean_env(None), port, scratch / "server.log")
        try:
            _wait_listening(server)
            results: dict[str, list[dict[str, float]]] = {LEAN: [], UVICORN: []}
            for number in range(args.rounds):
                order = (LEAN, UVICORN) if number % 2 == 0 else (UVICORN, LEAN)
                for path in order:
                    out = _window(server, path, body, args.seconds, args.connections)
                    results[path].append(out)
                    print(
                        f"round {number + 1} {_name(path):8} {out['req_s']:9,.0f} req/s  "
                        f"p99 {out['p99_ms']:6.1f} ms  CPU {out['cpu_us_per_req']:5.1f} µs/req"
                        f"  non-2xx {out['non_2xx']:.0f}"
                    )
        finally:
            server.stop()
    lean = _medians(results[LEAN])
    uvicorn = _medians(results[UVICORN])
    print(
        f"medians of {args.rounds}: lean {lean['req_s']:,.0f} req/s, "
        f"{lean['cpu_us_per_req']:.1f} µs/req; uvicorn's cycle {uvicorn['req_s']:,.0f} req/s, "
        f"{uvicorn['cpu_us_per_req']:.1f} µs/req"
    )
    pairs = [
        lean_window["cpu_us_per_req"] / uvicorn_window["cpu_us_per_req"]
        for lean_window, uvicorn_window in zip(results[LEAN], results[UVICORN], strict=True)
    ]
    print(
        f"lean / uvicorn's: {lean['req_s'] / uvicorn['req_s']:.2f}x req/s, "
        f"{lean['cpu_us_per_req'] / uvicorn['cpu_us_per_req']:.2f}x CPU per request "
        f"(per round: {', '.join(f'{p:.2f}' for p in pairs)})"
    )
    return 0


def _wait_listening(server: rp.Server) -> None:
    import socket
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"server exited: {server.log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def _window(
    server: rp.Server, path: str, body: Path, seconds: float, connections: int
) -> dict[str, float]:
    rp.wrk(server.port, path, body, 1, connections)  # warm-up
    cpu = server.cpu_seconds()
    out = rp.wrk(server.port, path, body, seconds, connections)
    cpu = server.cpu_seconds() - cpu
    duration = out["duration_us"] / 1e6
    requests = out["requests"]
    return {
        "req_s": requests / duration,
        "p99_ms": out["p99_us"] / 1000,
        "non_2xx": out["non_2xx"] + out["connect"] + out["read"] + out["write"] + out["timeout"],
        "cpu_us_per_req": cpu / max(requests, 1) * 1e6,
    }


def _medians(windows: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(w[key] for w in windows) for key in windows[0]}


def _name(path: str) -> str:
    return "lean" if path == LEAN else "uvicorn"


if __name__ == "__main__":
    raise SystemExit(main())
