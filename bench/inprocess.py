"""CPU per one-row request through the serving app in process (no HTTP server, no wrk).

    .venv/bin/python bench/inprocess.py [--requests 3000] [--rounds 4]

Each measurement is a fresh process that builds the app with ``create_app`` on a copy of
one yard (HistGradientBoostingClassifier on breast cancer, endpoint ``bench-api``, one
native thread), runs its lifespan, and sends ``--requests`` one-row v1 requests from 64
concurrent tasks through httpx's ASGI transport; it reports the process's CPU seconds per
request (``time.process_time``) and requests per second. Monitoring on and off alternate
for ``--rounds`` rounds; medians are printed. CPU time counts only this process's work, so
it says more than wrk's req/s on a machine other jobs keep busy (wall time does not).
To compare two checkouts, run this script from each, interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH = "/v1/endpoints/bench-api/predict"


def prepare(home: Path) -> bytes:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier

    from modelyard import Yard

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X, y)
    yard = Yard(home)
    yard.register(model, "bench", sample=X)
    yard.create_endpoint("bench-api", "bench@1")
    yard.close()
    return json.dumps({"instances": X.iloc[:1].to_dict(orient="records")}).encode()


def worker(home: Path, body: bytes, monitoring: bool, total: int) -> dict[str, float]:
    import httpx

    from modelyard.config import Settings
    from modelyard.serving.app import asgi_app, create_app
    from modelyard.yard import Yard

    settings = Settings(home=home, monitoring=monitoring, native_threads=1)
    app = create_app(Yard(settings=settings).services, settings, auth=False)
    headers = {"content-type": "application/json"}

    async def main() -> dict[str, float]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=asgi_app(app))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for _ in range(200):  # warm-up
                    (await client.post(PATH, content=body, headers=headers)).raise_for_status()
                left = total

                async def send() -> None:
                    nonlocal left
                    while left > 0:
                        left -= 1
                        (await client.post(PATH, content=body, headers=headers)).raise_for_status()

                cpu, wall = time.process_time(), time.perf_counter()
                await asyncio.gather(*(send() for _ in range(64)))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        return {"cpu_us_per_req": cpu / total * 1e6, "req_s": total / wall}

    return asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--worker", nargs=3, metavar=("HOME", "BODY", "ON"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        home, body, on = args.worker
        result = worker(Path(home), Path(body).read_bytes(), on == "on", args.requests)
        print(json.dumps(result))
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        seed = Path(scratch) / "seed"
        body_file = Path(scratch) / "body.json"
        body_file.write_bytes(prepare(seed))
        results: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
        for run in range(args.rounds):
            for on in ("on", "off") if run % 2 == 0 else ("off", "on"):
                home = Path(scratch) / f"home-{run}-{on}"
                shutil.copytree(seed, home)
                command = [sys.executable, __file__, "--requests", str(args.requests)]
                command += ["--worker", str(home), str(body_file), on]
                out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                results[on].append(result)
                print(f"run {run + 1} monitoring {on:3}: {json.dumps(result)}", flush=True)
                shutil.rmtree(home, ignore_errors=True)
    medians = {
        on: {k: statistics.median(r[k] for r in rows) for k in ("cpu_us_per_req", "req_s")}
        for on, rows in results.items()
    }
    for on, m in medians.items():
        print(
            f"monitoring {on:3}: {m['cpu_us_per_req']:.0f} us CPU/request, {m['req_s']:.0f} req/s"
        )
    on, off = medians["on"], medians["off"]
    print(
        f"on/off: req/s {on['req_s'] / off['req_s']:.1%}, "
        f"CPU per request {on['cpu_us_per_req'] / off['cpu_us_per_req']:.1%}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
