"""Console pages and the admin API on a big yard: modelyard against MLflow, in the same run.

    .venv/bin/python bench/console.py [--runs 5] [--warmup 1] [--skip-mlflow] [--reseed]
                                      [--fine-windows]

A yard of 50 models × 20 versions (real scikit-learn pipelines, fixed seeds) with alias
history, and one endpoint whose monitor holds a week of 5-minute windows for two versions,
are seeded once into ``bench/.data/console-v1/`` (git-ignored; see ``bench/_console_seed.py``)
and reused; the monitor's week is rebuilt whenever it no longer ends at the current bucket,
then its windows older than a day are folded into hourly ones, as the controller of a running
server does once an hour (``--fine-windows`` keeps all 2,016 five-minute windows per version
and runs the server without its controller; results then go to ``console-DATE-fine.*``).
MLflow's registry gets the same models, versions, metrics, tags and aliases in a SQLite
database next to it. Then both servers run side by side (``modelyard serve --dev``, and
``mlflow server`` with its defaults over that database) and, interleaved, the bench times:

* API routes with httpx, each request made twice, over a new connection and over one kept
  alive (the two can differ by TCP delayed-ACK stalls), the median over ``--runs`` requests
  after ``--warmup`` discarded ones;
* console pages in headless Chromium (Playwright), from ``goto`` until the page's content
  is rendered (its heading, every table row it lists, its charts drawn): cold in a new
  browser context (empty cache), then warm (same context, the page loaded again after
  ``about:blank``: cached static files, fresh data).

It prints a markdown table (ratio = MLflow / modelyard: above 1, modelyard is faster) and
writes it with the details to ``bench/results/console-DATE.md`` and every run to
``bench/results/console-DATE.json``. Before measuring it waits (up to 15 minutes) for the
1-minute load average to fall below 1.5, as other work on this 2-core machine skews timings.
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
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import _console_seed as seed
from registry import MLFLOW_VENV, MLFLOW_VERSION, _tail, build_venv, machine, mlflow_pins
from registry import venv_python as python_of
from serve_peers.common import TICK, _stat_fields, free_port, machine_busy_seconds, server_env

BENCH = Path(__file__).resolve().parent
DATA_VERSION = 1
DATA = BENCH / ".data" / f"console-v{DATA_VERSION}"
RESULTS = BENCH / "results"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 860}
PAGE_TIMEOUT_MS = 120_000
READY_TIMEOUT = 180
MAX_LOAD = 1.5
LOAD_WAIT_SECONDS = 15 * 60
PEERS = ("modelyard", "mlflow")
MLFLOW_PAGE_SIZE = 25  # what MLflow's models page asks for (modelyard's asks for 50)


def say(message: str) -> None:
    print(f"[console] {message}", flush=True)


# -- load ------------------------------------------------------------------------------------


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text(encoding="utf-8").split()[0])


def self_cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        fields = _stat_fields(int(entry)) if entry.isdigit() else None
        if fields is not None and int(fields[1]) == pid:
            found.add(int(entry))
    return found


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root`` and its live descendants, with what each has reaped of its
    own children (Chromium's renderers, a server's workers): nothing counted twice."""
    table = {}
    for entry in os.listdir("/proc"):
        fields = _stat_fields(int(entry)) if entry.isdigit() else None
        if fields is not None:
            table[int(entry)] = fields
    total, pending, seen = 0, [root], set()
    while pending:
        pid = pending.pop()
        if pid in seen or pid not in table:
            continue
        seen.add(pid)
        total += sum(int(v) for v in table[pid][11:15])  # utime stime cutime cstime
        pending += [child for child, f in table.items() if int(f[1]) == pid]
    return total / TICK


LOADS: list[dict[str, Any]] = []  # the 1-minute load at the start of every measured round


def note_load(phase: str, n: int) -> None:
    LOADS.append({"phase": phase, "round": n, "load": load_average()})


def uptime() -> str:
    done = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or f"load average {load_average():.2f}"


def wait_for_quiet(limit: float, patience: float) -> dict[str, Any]:
    """Wait until the 1-minute load is at most ``limit`` (or ``patience`` seconds pass)."""
    say(f"uptime: {uptime()}")
    started = time.monotonic()
    while (load := load_average()) > limit:
        waited = time.monotonic() - started
        if waited >= patience:
            say(f"LOAD STILL HIGH after {waited / 60:.0f} min ({load:.2f}); measuring anyway")
            return {"load": load, "waited_s": round(waited), "quiet": False}
        say(f"1-minute load {load:.2f} > {limit}: waiting ({waited / 60:.1f} min so far)")
        time.sleep(20)
    waited = time.monotonic() - started
    say(f"1-minute load {load:.2f} (waited {waited:.0f} s): measuring")
    return {"load": load, "waited_s": round(waited), "quiet": True}


# -- the seeded yard -------------------------------------------------------------------------


def current_bucket() -> int:
    return int(time.time() // seed.BUCKET_SECONDS) * seed.BUCKET_SECONDS


def prepare_data(
    mlflow_python: Path | None, reseed: bool, fine: bool
) -> tuple[dict[str, Any], str | None]:
    """Seed what is missing or stale; the manifest records what is there and how long each
    part took to seed. The monitor's week is rebuilt when it no longer ends at the current
    bucket, then compacted unless ``fine``. Returns the manifest and, if MLflow's side could
    not be seeded, why."""
    manifest_file = DATA / "manifest.json"
    manifest: dict[str, Any] = {}
    if manifest_file.exists() and not reseed:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    home, plan_file = DATA / "modelyard", DATA / "plan.json"
    fresh: dict[str, float] = {}

    def save() -> None:
        manifest_file.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    if manifest.get("models") is None or not plan_file.exists():
        if DATA.exists():
            shutil.rmtree(DATA)
        DATA.mkdir(parents=True)
        manifest = {"data_version": DATA_VERSION}
        say(f"seeding {seed.MODELS} models × {seed.VERSIONS} versions into {rel(home)}")
        started = time.perf_counter()
        seed.seed_models(home, plan_file, say)
        seconds = time.perf_counter() - started
        manifest["models"] = {"seconds": round(seconds, 1), "at": now_iso()}
        fresh["models"] = seconds
        save()
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    windows = manifest.get("windows", {})
    if windows.get("last_bucket") != current_bucket() or windows.get("fine") != fine:
        say(f"seeding a week of 5-minute monitor windows on {seed.ENDPOINT}")
        started = time.perf_counter()
        facts = seed.seed_windows(home, plan["endpoint_model"], say)
        seconds = time.perf_counter() - started
        manifest["windows"] = {**facts, "seconds": round(seconds, 1), "at": now_iso()}
        fresh["windows"] = seconds
        manifest["windows"]["fine"] = fine
        if not fine:
            started = time.perf_counter()
            manifest["compaction"] = seed.compact_windows(home)
            seconds = time.perf_counter() - started
            manifest["compaction"].update(seconds=round(seconds, 1), at=now_iso())
            fresh["compaction"] = seconds
            say(f"  compacted in {seconds:.1f} s: {manifest['compaction']}")
        else:
            manifest["compaction"] = None
        save()
    problem = None
    if mlflow_python is not None and manifest.get("mlflow") is None:
        target = DATA / "mlflow"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir()
        say("seeding MLflow's registry with the same models, versions and aliases")
        started = time.perf_counter()
        command = [str(mlflow_python), str(BENCH / "_console_seed.py"), "mlflow"]
        command += ["--plan", str(plan_file), "--db", str(target / "mlflow.db")]
        command += ["--artifacts", str(target / "artifacts")]
        done = subprocess.run(
            command, capture_output=True, text=True, env=server_env(), timeout=3600, check=False
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            problem = f"seeding MLflow failed (exit {done.returncode}): {_tail(done.stderr)}"
            shutil.rmtree(target, ignore_errors=True)
        else:
            manifest["mlflow"] = {"seconds": round(seconds, 1), "at": now_iso()}
            fresh["mlflow"] = seconds
            save()
    manifest["fresh"] = fresh
    manifest["plan"] = plan
    return manifest, problem


def seeding_lines(manifest: dict[str, Any]) -> list[str]:
    fresh = manifest.get("fresh", {})
    lines = []
    for part, what in (
        ("models", f"modelyard: {seed.MODELS} models × {seed.VERSIONS} versions + aliases"),
        ("windows", f"modelyard: {seed.WEEK_BUCKETS} × 2 five-minute monitor windows"),
        ("compaction", "modelyard: windows older than a day folded into hourly ones"),
        ("mlflow", "MLflow: the same registry"),
    ):
        info = manifest.get(part)
        if info is None:
            continue
        if part in fresh:
            lines.append(f"{what}: {fresh[part]:.1f} s (seeded in this run)")
        else:
            lines.append(f"{what}: cached (seeded {info['at']} in {info['seconds']:.1f} s)")
    lines.append(f"monitor windows measured: {windows_text(manifest)}")
    return lines


def windows_text(manifest: dict[str, Any]) -> str:
    compaction = manifest.get("compaction")
    if compaction is None:
        return (
            f"{manifest['windows']['windows']} five-minute windows, not compacted "
            "(--fine-windows: the server's controller is off)"
        )
    rows = compaction["rows"]
    kinds = ", ".join(
        f"{n} {'hourly' if seconds == '3600' else f'{int(seconds) // 60}-minute'}"
        for seconds, n in sorted(rows.items(), key=lambda item: int(item[0]))
    )
    if not compaction.get("compacted"):
        return f"{kinds} (this modelyard has no compaction)"
    return f"{kinds} for 2 versions after compaction ({compaction['folded']} folded)"


# -- servers -----------------------------------------------------------------------------------


@dataclass
class Server:
    peer: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def logs(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


LIVE: list[Server] = []


def start_server(
    peer: str, command: list[str], env: dict[str, str], port: int, ready: list[str]
) -> Server:
    """Start ``command`` in its own process group and wait until every ``ready`` path
    answers 200."""
    import httpx

    log = DATA / f"{peer}-server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=DATA,
            start_new_session=True,
        )
    server = Server(peer, f"http://127.0.0.1:{port}", process, log)
    LIVE.append(server)
    deadline = time.monotonic() + READY_TIMEOUT
    pending = list(ready)
    while pending:
        if process.poll() is not None:
            raise RuntimeError(f"{peer} exited with {process.returncode}: {_tail(server.logs())}")
        try:
            if httpx.get(server.url + pending[0], timeout=30).status_code == 200:
                pending.pop(0)
                continue
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{peer} not ready in {READY_TIMEOUT} s: {_tail(server.logs())}")
        time.sleep(0.2)
    return server


def stop_server(server: Server) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, sig)
        try:
            server.process.wait(grace)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # workers the leader left behind
        os.killpg(server.process.pid, signal.SIGKILL)
    if server in LIVE:
        LIVE.remove(server)


def start_modelyard(fine: bool) -> Server:
    """``fine``: without the controller, whose hourly compaction would fold the fine windows
    (the yard as it is until a controller runs)."""
    port = free_port()
    command = [sys.executable, "-m", "modelyard.cli", "--home", str(DATA / "modelyard")]
    command += ["serve", "--port", str(port), "--dev"]
    env = server_env()
    if fine:
        env["MODELYARD_CONTROLLER"] = "false"
    return start_server("modelyard", command, env, port, ["/health/ready"])


def start_mlflow(python: Path) -> Server:
    port = free_port()
    target = DATA / "mlflow"
    command = [str(python.parent / "mlflow"), "server"]
    command += ["--backend-store-uri", f"sqlite:///{target / 'mlflow.db'}"]
    command += ["--default-artifact-root", (target / "artifacts").as_uri()]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    ready = ["/health", "/ajax-api/2.0/mlflow/registered-models/search?max_results=1"]
    return start_server("mlflow", command, server_env(MLFLOW_VENV), port, ready)


# -- what is measured --------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: a route or page, with each peer's path (None: no counterpart)."""

    key: str
    label: str
    kind: str  # "api" or "page"
    paths: dict[str, str | None]
    ready: dict[str, Callable[[Any], None]] = field(default_factory=dict)
    note: str = ""


def visible(page: Any, selector: str, nth: int | None = None, text: str | None = None) -> None:
    locator = page.locator(selector, has_text=text) if text else page.locator(selector)
    if nth is not None:
        locator = locator.nth(nth)
    locator.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)


def attached(page: Any, selector: str) -> None:
    page.locator(selector).wait_for(state="attached", timeout=PAGE_TIMEOUT_MS)


def rows_of(plan: dict[str, Any]) -> list[Row]:
    model = plan["endpoint_model"]
    endpoint = plan["endpoint"]
    version = seed.ENDPOINT_VERSIONS[0]
    names = sorted(m["name"] for m in plan["models"])
    versions = seed.VERSIONS
    inputs = len(plan["inputs"])
    last_listed = names[min(MLFLOW_PAGE_SIZE, len(names)) - 1]
    api = "/ajax-api/2.0/mlflow"
    quoted = quote(f"name='{model}'")
    monitor = f"/api/endpoints/{endpoint}/monitor"

    def models_page(page: Any) -> None:
        visible(page, "main h1", text="Models")
        visible(page, "main table tbody tr", nth=min(50, len(names)) - 1)

    def model_page(page: Any) -> None:
        visible(page, "main h1", text=model)
        visible(page, "main table >> nth=1 >> tbody tr", nth=versions - 1)  # versions
        visible(page, "main table >> nth=2 >> tbody tr", nth=0)  # alias history

    def version_page(page: Any) -> None:
        model_page(page)
        visible(page, "#version-details h2", text=f"Version {version}")
        visible(page, "#version-details table >> nth=1 >> tbody tr", nth=inputs - 1)

    def endpoint_page(page: Any) -> None:
        visible(page, "main h1", text=endpoint)
        visible(page, "main table tbody tr", nth=len(seed.ENDPOINT_VERSIONS) - 1)
        attached(page, "body[data-charts='drawn']")  # set once every chart is drawn
        visible(page, ".chart >> nth=3 >> .main-svg", nth=0)

    def drift_page(page: Any) -> None:
        visible(page, "main h1", text=f"Drift on {endpoint}")
        visible(page, "main table tbody tr", nth=inputs - 1)
        attached(page, "body[data-charts='drawn']")
        visible(page, ".chart >> nth=1 >> .main-svg", nth=0)

    def audit_page(page: Any) -> None:
        visible(page, "main h1", text="Audit log")
        visible(page, "main table tbody tr", nth=49)

    def mlflow_models(page: Any) -> None:
        visible(page, f"a[href='#/models/{names[0]}']")
        visible(page, f"a[href='#/models/{last_listed}']")

    def mlflow_model(page: Any) -> None:
        visible(page, f"a[href='#/models/{model}/versions/{versions}']")
        visible(page, f"a[href='#/models/{model}/versions/1']")

    def mlflow_version(page: Any) -> None:
        visible(page, "a[href^='#/experiments/']", text=f"{model}-v{version}")  # source run
        page.get_by_text(f"Inputs ({inputs})").wait_for(timeout=PAGE_TIMEOUT_MS)

    return [
        Row(
            "api-models",
            "API: models, first page",
            "api",
            {
                "modelyard": "/api/models?limit=50&offset=0",
                "mlflow": f"{api}/registered-models/search?max_results=50",
            },
        ),
        Row(
            "api-model",
            f"API: one model's {versions} versions",
            "api",
            {
                "modelyard": f"/api/models/{model}",
                "mlflow": f"{api}/model-versions/search?filter={quoted}&max_results=25"
                "&order_by=creation_timestamp+DESC",
            },
            note="modelyard's answer also holds the model, its aliases and alias history",
        ),
        Row(
            "api-model-get",
            "API: the registered model itself",
            "api",
            {"modelyard": None, "mlflow": f"{api}/registered-models/get?name={model}"},
            note="in modelyard, part of the row above",
        ),
        Row(
            "api-version",
            "API: one version",
            "api",
            {
                "modelyard": f"/api/models/{model}/versions/{version}",
                "mlflow": f"{api}/model-versions/get?name={model}&version={version}",
            },
        ),
        Row(
            "api-audit",
            "API: audit log, 50 newest",
            "api",
            {"modelyard": "/api/audit?limit=50", "mlflow": None},
        ),
        Row(
            "api-monitor-1h",
            "API: monitor since=1h",
            "api",
            {"modelyard": f"{monitor}?since=1h", "mlflow": None},
        ),
        Row(
            "api-monitor-7d",
            "API: monitor since=7d",
            "api",
            {"modelyard": f"{monitor}?since=7d", "mlflow": None},
        ),
        Row(
            "api-monitor-7d-hist",
            "API: monitor since=7d&histograms=true",
            "api",
            {"modelyard": f"{monitor}?since=7d&histograms=true", "mlflow": None},
        ),
        Row(
            "api-session",
            "API: session",
            "api",
            {"modelyard": "/api/session", "mlflow": None},
        ),
        Row(
            "page-models",
            "page: models list",
            "page",
            {"modelyard": "/ui#/models", "mlflow": "/#/models"},
            {"modelyard": models_page, "mlflow": mlflow_models},
            note=f"modelyard lists 50 models a page, MLflow {MLFLOW_PAGE_SIZE} (its default)",
        ),
        Row(
            "page-model",
            f"page: one model, {versions} versions",
            "page",
            {"modelyard": f"/ui#/models/{model}", "mlflow": f"/#/models/{model}"},
            {"modelyard": model_page, "mlflow": mlflow_model},
        ),
        Row(
            "page-version",
            "page: one version",
            "page",
            {
                "modelyard": f"/ui#/models/{model}?version={version}",
                "mlflow": f"/#/models/{model}/versions/{version}",
            },
            {"modelyard": version_page, "mlflow": mlflow_version},
            note="modelyard: the model page with the version's details below it",
        ),
        Row(
            "page-endpoint-1h",
            "page: endpoint, last 1h",
            "page",
            {"modelyard": f"/ui#/endpoints/{endpoint}", "mlflow": None},
            {"modelyard": endpoint_page},
        ),
        Row(
            "page-endpoint-7d",
            "page: endpoint, last 7d",
            "page",
            {"modelyard": f"/ui#/endpoints/{endpoint}?since=7d", "mlflow": None},
            {"modelyard": endpoint_page},
        ),
        Row(
            "page-drift-7d",
            "page: drift, last 7d",
            "page",
            {"modelyard": f"/ui#/endpoints/{endpoint}/drift?since=7d", "mlflow": None},
            {"modelyard": drift_page},
        ),
        Row(
            "page-audit",
            "page: audit log",
            "page",
            {"modelyard": "/ui#/audit", "mlflow": None},
            {"modelyard": audit_page},
        ),
    ]


# -- measuring ---------------------------------------------------------------------------------


def measure_api(
    rows: list[Row], servers: dict[str, Server], runs: int, warmup: int
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Each route ``warmup`` + ``runs`` times, interleaved across routes and peers, each time
    over a new connection (``ms``) and over one kept alive (``keepalive_ms``)."""
    import httpx

    fresh = httpx.Limits(max_keepalive_connections=0)
    clients = {
        (p, way): httpx.Client(
            base_url=s.url, timeout=300, **({"limits": fresh} if way == "ms" else {})
        )
        for p, s in servers.items()
        for way in ("ms", "keepalive_ms")
    }
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    try:
        for n in range(warmup + runs):
            kind = "warmup" if n < warmup else "run"
            note_load("api", n)
            for row in (r for r in rows if r.kind == "api"):
                peers = [p for p in rotate(PEERS, n) if p in servers and row.paths.get(p)]
                for peer in peers:
                    path = row.paths[peer]
                    assert path is not None
                    sample: dict[str, Any] = {"kind": kind}
                    for way in rotate(("ms", "keepalive_ms"), n):
                        started = time.perf_counter()
                        response = clients[peer, way].get(path)
                        sample[way] = (time.perf_counter() - started) * 1000
                        if response.status_code != 200:
                            raise RuntimeError(f"{peer} {path}: HTTP {response.status_code}")
                        sample["bytes"] = len(response.content)
                    results.setdefault(row.key, {}).setdefault(peer, []).append(sample)
            say(f"API {kind} {n + 1 - (0 if n < warmup else warmup)} done")
    finally:
        for client in clients.values():
            client.close()
    return results


def measure_pages(
    rows: list[Row], servers: dict[str, Server], runs: int, warmup: int, shots: Path
) -> tuple[dict[str, dict[str, list[dict[str, Any]]]], list[str], float]:
    """Each page cold (new context) then warm (same context, loaded again), interleaved;
    also the CPU seconds Chromium and Playwright's driver used meanwhile."""
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    problems: list[str] = []
    shots.mkdir(parents=True, exist_ok=True)
    before = children_of(os.getpid())
    with sync_playwright() as playwright:
        drivers = children_of(os.getpid()) - before  # Playwright's driver, Chromium's parent
        start = sum(tree_cpu_seconds(pid) for pid in drivers)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for n in range(warmup + runs):
                kind = "warmup" if n < warmup else "run"
                note_load("pages", n)
                for row in (r for r in rows if r.kind == "page"):
                    peers = [p for p in rotate(PEERS, n) if p in servers and row.paths.get(p)]
                    for peer in peers:
                        url = servers[peer].url + str(row.paths[peer])
                        shot = shots / f"{row.key}-{peer}.png"
                        sample = load_twice(
                            browser, url, row.ready[peer], shot, n == warmup, problems
                        )
                        sample["kind"] = kind
                        results.setdefault(row.key, {}).setdefault(peer, []).append(sample)
                        if "error" in sample:
                            say(f"{peer} {row.key}: {sample['error']}")
                say(f"pages {kind} {n + 1 - (0 if n < warmup else warmup)} done")
        finally:
            browser_cpu = sum(tree_cpu_seconds(pid) for pid in drivers) - start
            browser.close()
    return results, problems, browser_cpu


def load_twice(
    browser: Any,
    url: str,
    ready: Callable[[Any], None],
    shot: Path,
    keep_shot: bool,
    problems: list[str],
) -> dict[str, Any]:
    """Time one cold and one warm load of ``url``; a screenshot of the cold one if
    ``keep_shot``, and of whatever was on screen when a page failed to render."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    requests: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"{url}: script error: {error}"))
    page.on("request", lambda request: requests.append(request.url))
    sample: dict[str, Any] = {}
    try:
        for visit in ("cold", "warm"):
            if visit == "warm":
                page.goto("about:blank")
                requests.clear()
            started = time.perf_counter()
            page.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT_MS)
            ready(page)
            sample[f"{visit}_ms"] = (time.perf_counter() - started) * 1000
            sample[f"{visit}_requests"] = len(requests)
            if keep_shot and visit == "cold":
                page.screenshot(path=str(shot), full_page=True)
    except Exception as exc:  # a page that never renders: recorded, the bench goes on
        sample["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        with contextlib.suppress(Exception):
            page.screenshot(path=str(shot.with_suffix(".failed.png")), full_page=True)
    finally:
        context.close()
    return sample


def rotate(items: tuple[str, ...], n: int) -> list[str]:
    k = n % len(items)
    return list(items[k:] + items[:k])


# -- reporting ---------------------------------------------------------------------------------


def stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def summarise(
    rows: list[Row],
    api: dict[str, dict[str, list[dict[str, Any]]]],
    pages: dict[str, dict[str, list[dict[str, Any]]]],
) -> list[dict[str, Any]]:
    """Table lines: two per API route (new connection, keep-alive), two per page (cold,
    warm)."""
    lines = []
    for row in rows:
        visits = (
            [(" (new connection)", "ms"), (" (keep-alive)", "keepalive_ms")]
            if row.kind == "api"
            else [(" (cold)", "cold_ms"), (" (warm)", "warm_ms")]
        )
        source = api if row.kind == "api" else pages
        for suffix, key in visits:
            line: dict[str, Any] = {"key": row.key, "label": row.label + suffix, "note": row.note}
            for peer in PEERS:
                samples = [s for s in source.get(row.key, {}).get(peer, []) if s["kind"] == "run"]
                line[peer] = stats([s[key] for s in samples if key in s])
                errors = [s["error"] for s in samples if "error" in s]
                if errors:
                    line[f"{peer}_errors"] = errors
            lines.append(line)
    return lines


def cell(summary: dict[str, float] | None, errors: list[str] | None, present: bool) -> str:
    if not present:
        return "—"
    if summary is None:
        return "failed" if errors else "n/a"
    text = f"{summary['median']:.0f} [{summary['min']:.0f}–{summary['max']:.0f}]"
    if summary["median"] < 10:
        text = f"{summary['median']:.1f} [{summary['min']:.1f}–{summary['max']:.1f}]"
    return text + (f" ({len(errors)} failed)" if errors else "")


def ratio(line: dict[str, Any]) -> str:
    mine, theirs = line.get("modelyard"), line.get("mlflow")
    if not mine or not theirs:
        return "—"
    value = theirs["median"] / mine["median"]
    if value >= 1:
        return f"{value:.2f} (modelyard {value:.1f}× faster)"
    return f"{value:.2f} (MLflow {1 / value:.1f}× faster)"


def markdown(lines: list[dict[str, Any]], rows: list[Row], servers: dict[str, Server]) -> str:
    present = {row.key: row.paths for row in rows}
    out = [
        "| page / route | modelyard ms | MLflow ms | MLflow / modelyard |",
        "|---|---:|---:|---|",
    ]
    for line in lines:
        paths = present[line["key"]]
        cells = [
            cell(line.get(peer), line.get(f"{peer}_errors"), bool(paths.get(peer)))
            if peer in servers or not paths.get(peer)
            else "not measured"
            for peer in PEERS
        ]
        out.append(f"| {line['label']} | {cells[0]} | {cells[1]} | {ratio(line)} |")
    return "\n".join(out)


def route_list(
    rows: list[Row],
    api: dict[str, dict[str, list[dict[str, Any]]]],
    pages: dict[str, dict[str, list[dict[str, Any]]]],
) -> str:
    """What each row fetched or loaded, with the answer's size (API) or the number of
    requests the browser made (pages, cold / warm)."""
    out = [
        "| row | modelyard | MLflow | size (API) or requests cold / warm (pages) | note |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        paths = [f"`{row.paths[p]}`" if row.paths.get(p) else "—" for p in PEERS]
        weights = []
        for peer in PEERS:
            samples = (api if row.kind == "api" else pages).get(row.key, {}).get(peer, [])
            if not samples:
                continue
            if row.kind == "api":
                weights.append(f"{peer} {samples[-1]['bytes'] / 1024:.1f} KiB")
            else:
                cold = statistics.median(s.get("cold_requests", 0) for s in samples)
                warm = statistics.median(s.get("warm_requests", 0) for s in samples)
                weights.append(f"{peer} {cold:.0f} / {warm:.0f}")
        out.append(f"| {row.label} | {paths[0]} | {paths[1]} | {', '.join(weights)} | {row.note} |")
    return "\n".join(out)


def modelyard_commit() -> str:
    """The checkout measured: its commit, and whether src/ has uncommitted changes."""
    root = BENCH.parent
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return "unknown (not a git checkout)"
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return done.stdout.strip() + (" with uncommitted changes in src/" if dirty else "")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(BENCH.parent))
    except ValueError:
        return str(path)


# -- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded runs first (default 1)")
    parser.add_argument("--skip-mlflow", action="store_true", help="measure modelyard only")
    parser.add_argument("--reseed", action="store_true", help="seed everything again")
    parser.add_argument(
        "--fine-windows",
        action="store_true",
        help="keep all 2016 five-minute windows per version (no compaction, controller off)",
    )
    parser.add_argument(
        "--max-load", type=float, default=MAX_LOAD, help="1-minute load to wait for"
    )
    parser.add_argument(
        "--max-wait", type=float, default=LOAD_WAIT_SECONDS, help="seconds to wait for it at most"
    )
    args = parser.parse_args()
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    if not Path(CHROMIUM).exists():
        parser.error(f"{CHROMIUM} not found: apt-get install chromium")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the servers are stopped
    say(f"machine: {machine()}")
    say(f"uptime at start: {uptime()}")
    mlflow_problem: str | None = "skipped (--skip-mlflow)" if args.skip_mlflow else None
    mlflow_python: Path | None = None
    if not args.skip_mlflow:
        venv, mlflow_problem = build_venv(MLFLOW_VENV, mlflow_pins(), "MLflow", say)
        if venv is not None:
            mlflow_python = python_of(venv)
    manifest, seed_problem = prepare_data(mlflow_python, args.reseed, args.fine_windows)
    if seed_problem is not None:
        mlflow_problem, mlflow_python = seed_problem, None
    for line in seeding_lines(manifest):
        say(f"seeding — {line}")
    plan = manifest.pop("plan")
    rows = rows_of(plan)

    servers: dict[str, Server] = {}
    try:
        servers["modelyard"] = start_modelyard(args.fine_windows)
        say(f"modelyard serve --dev at {servers['modelyard'].url}")
        if mlflow_python is not None:
            try:
                servers["mlflow"] = start_mlflow(mlflow_python)
                say(f"mlflow server at {servers['mlflow'].url}")
            except RuntimeError as exc:
                mlflow_problem = f"mlflow server did not start: {exc}"
                say(f"MLFLOW UNAVAILABLE, reporting modelyard only: {mlflow_problem}")
        time.sleep(5)  # let both settle (first loads, migrations, workers) before the check
        load_before = wait_for_quiet(args.max_load, args.max_wait)
        pids = {p: s.process.pid for p, s in servers.items()}
        cpu_before = {p: tree_cpu_seconds(pid) for p, pid in pids.items()}
        self_before = self_cpu_seconds()
        busy_before, clock = machine_busy_seconds(), time.perf_counter()
        api = measure_api(rows, servers, args.runs, args.warmup)
        load_mid = load_average()
        pages, page_problems, browser_cpu = measure_pages(
            rows, servers, args.runs, args.warmup, DATA / "screenshots"
        )
        server_cpu = {p: tree_cpu_seconds(pid) - cpu_before[p] for p, pid in pids.items()}
        elapsed = time.perf_counter() - clock
        busy = machine_busy_seconds() - busy_before
        mine = self_cpu_seconds() - self_before + browser_cpu + sum(server_cpu.values())
        others = max(0.0, busy - mine)  # what the rest of the machine did meanwhile
        load_after = load_average()
        for peer in [p for p in PEERS if p in servers]:
            if servers[peer].process.poll() is not None:
                say(f"{peer} server died during the run: {_tail(servers[peer].logs())}")
    finally:
        for server in list(LIVE):
            stop_server(server)

    lines = summarise(rows, api, pages)
    table = markdown(lines, rows, servers)
    date = dt.datetime.now(dt.UTC).date().isoformat() + ("-fine" if args.fine_windows else "")
    command = " ".join([".venv/bin/python bench/console.py", *sys.argv[1:]])
    seeding = seeding_lines(manifest)
    print()
    print(f"console bench, {args.runs} runs after {args.warmup} warm-up, medians [min–max] ms")
    print(table)
    print()
    for text in seeding:
        print(f"seeding — {text}")
    print(
        f"load: {load_before['load']:.2f} before (waited {load_before['waited_s']} s), "
        f"{load_mid:.2f} between API and pages, {load_after:.2f} after; machine busy "
        f"{busy:.0f} CPU s over {elapsed:.0f} s, of which servers "
        + ", ".join(f"{p} {s:.0f} s" for p, s in server_cpu.items())
        + f", Chromium {browser_cpu:.0f} s; other processes {others:.0f} CPU s (machine busy "
        "minus this script, the servers and Chromium)"
    )
    if page_problems:
        print(f"script errors on pages: {len(page_problems)}; first: {page_problems[0]}")
    if mlflow_problem is not None:
        print(f"MLflow not measured: {mlflow_problem}")

    report = {
        "benchmark": "console",
        "date": now_iso(),
        "command": command,
        "modelyard_commit": modelyard_commit(),
        "machine": machine(),
        "runs": args.runs,
        "warmup": args.warmup,
        "mlflow": {"version": MLFLOW_VERSION, "pins": mlflow_pins(), "problem": mlflow_problem},
        "seeding": manifest,
        "load": {
            "before": load_before,
            "between": load_mid,
            "after": load_after,
            "rounds": LOADS,
        },
        "busy_cpu_seconds": busy,
        "other_cpu_seconds": others,
        "elapsed_seconds": elapsed,
        "server_cpu_seconds": server_cpu,
        "browser_cpu_seconds": browser_cpu,
        "page_problems": page_problems,
        "rows": [
            {"key": r.key, "label": r.label, "kind": r.kind, "paths": r.paths, "note": r.note}
            for r in rows
        ],
        "summary": lines,
        "api": api,
        "pages": pages,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_file = RESULTS / f"console-{date}.json"
    json_file.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    md_file = RESULTS / f"console-{date}.md"
    md_file.write_text(
        render_markdown(report, table, route_list(rows, api, pages), seeding), encoding="utf-8"
    )
    print(f"written {rel(md_file)} and {rel(json_file)}")
    return 0


def render_markdown(report: dict[str, Any], table: str, routes: str, seeding: list[str]) -> str:
    m = report["machine"]
    load = report["load"]
    problem = report["mlflow"]["problem"]
    parts = [
        f"# Console bench, {report['date']}",
        "",
        f"`{report['command']}` — {report['runs']} measured runs after {report['warmup']} "
        f"warm-up, interleaved; {m['cores']} cores ({m['cpu']}, {m['memory_gib']} GiB), "
        f"{m['platform']}, Python {m['python']}; modelyard at {report['modelyard_commit']}, "
        f"MLflow {MLFLOW_VERSION}.",
        "",
        "Milliseconds, median [min–max]. Ratio = MLflow median / modelyard median: above 1, "
        "modelyard is faster. API: httpx, whole body read, each request over a new connection "
        "and over a kept-alive one. Pages: headless "
        "Chromium, from `goto` until the content is rendered (heading, every row listed, charts "
        "drawn); cold = new browser context, warm = same context loading the page again.",
        "",
        table,
        "",
        "## Seeding",
        "",
        *[f"- {line}" for line in seeding],
        "",
        f"What is seeded (`bench/_console_seed.py`): {seed.MODELS} models × {seed.VERSIONS} "
        "versions, each a StandardScaler + LogisticRegression trained with a fixed seed on a "
        "subsample of scikit-learn's breast-cancer data (30 features), registered with its "
        "training rows as the sample and four holdout metrics; production and staging move 12 "
        "times per model (one rollback). One endpoint over versions 19 and 20 of the first "
        f"model holds {seed.WEEK_BUCKETS} five-minute windows per version (a week ending at "
        "the current bucket), counted from real rows and predictions with the recorder's "
        "`Window` sketches; six size features drift over the last two days; then, unless "
        "`--fine-windows`, windows older than a day are folded into hourly ones "
        "(`Yard.compact_monitoring`, what the server's controller does hourly). "
        f"Measured: {windows_text(report['seeding'])}. No prediction log "
        "or feedback rows are seeded, so the monitor's quality part has nothing to read. "
        "MLflow gets the same models, versions (each with a run holding its metrics and "
        "parameters, and a source folder holding only an `MLmodel` file with the signature, "
        "so its version page can show the schema), tags and final aliases; it keeps no alias "
        "history.",
        "",
        "## Load",
        "",
        f"1-minute load {load['before']['load']:.2f} before measuring (waited "
        f"{load['before']['waited_s']} s), {load['between']:.2f} between the API and page "
        f"phases, {load['after']:.2f} after. Machine busy {report['busy_cpu_seconds']:.0f} CPU s "
        f"over {report['elapsed_seconds']:.0f} s; servers: "
        + ", ".join(f"{p} {s:.0f} s" for p, s in report["server_cpu_seconds"].items())
        + f"; Chromium and Playwright {report['browser_cpu_seconds']:.0f} s; other processes "
        f"(busy minus this script, the servers and Chromium): "
        f"{report['other_cpu_seconds']:.0f} CPU s. 1-minute load at the start of "
        "each round: "
        + ", ".join(f"{x['phase']} {x['round']}: {x['load']:.2f}" for x in load["rounds"])
        + ".",
        "",
        "## Routes and pages",
        "",
        routes,
        "",
        "modelyard: `modelyard serve --dev` (one worker, keys off on loopback, monitoring and "
        "controller on as by default). MLflow: `mlflow server --backend-store-uri sqlite:///… "
        "--default-artifact-root file:///…` with its defaults (4 uvicorn workers). Both run "
        "side by side on the same 2 cores, idle while the other is measured. On a fresh "
        'browser context MLflow\'s UI also opens its "new Model Registry UI" notice and its '
        "assistant panel (its defaults, left as they are). Screenshots of the first measured "
        "cold load of each page: `bench/.data/console-v1/screenshots/`.",
    ]
    if report["page_problems"]:
        parts += ["", "Script errors on pages:", *[f"- {p}" for p in report["page_problems"]]]
    if problem:
        parts += ["", f"MLflow not measured: {problem}"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    sys.exit(main())
