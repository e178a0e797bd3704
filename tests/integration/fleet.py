"""A fleet on one machine, as production runs it: PostgreSQL, an S3 server process (moto)
holding the artifacts, ``modelyard serve --no-controller`` replicas, ``modelyard controller``
processes and HAProxy in front. Used by tests/integration/test_fleet.py and by
examples/fleet.py (which prints what happens)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tests.logged_ids import logged_ids

ROOT = Path(__file__).resolve().parents[2]

# Short intervals so a scenario takes seconds; every bound the test judges is a multiple of
# one of these.
INTERVALS = {
    "MODELYARD_POLL_SECONDS": "0.25",  # a replica's refresh interval (registry changes)
    "MODELYARD_CONTROLLER_INTERVAL": "0.5",  # the lease is tried again this often
    "MODELYARD_MONITOR_FLUSH_SECONDS": "0.5",
    "MODELYARD_MONITOR_BUCKET_SECONDS": "2",
    "MODELYARD_DRAIN_SECONDS": "0.5",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def haproxy_reason() -> str | None:
    """Why the fleet cannot have its load balancer here, or None."""
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        return "haproxy is not installed (`make haproxy` needs root and apt)"
    if shutil.which("moto_server") is None:
        return "moto_server (moto[server]) is not installed"
    return None


def s3_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (a server's workers too): no chance to flush."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@dataclass
class Fleet:
    work: Path
    db_url: str
    s3: str = ""
    bucket: str = "fleet"
    procs: dict[str, Proc] = field(default_factory=dict)
    replica_ports: dict[str, int] = field(default_factory=dict)
    balancer_port: int = 0

    @property
    def env(self) -> dict[str, str]:
        return {
            "MODELYARD_DB_URL": self.db_url,
            "MODELYARD_ARTIFACTS": f"s3://{self.bucket}/artifacts",
            **s3_env(self.s3),
            **INTERVALS,
        }

    @property
    def balancer(self) -> str:
        return f"http://127.0.0.1:{self.balancer_port}"

    def _spawn(self, name: str, argv: list[str], port: int = 0) -> Proc:
        log = self.work / f"{name}.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT), **self.env},
                start_new_session=True,
            )
        proc = Proc(name, process, log, port)
        self.procs[name] = proc
        return proc

    def _cli(self, name: str, *args: str) -> list[str]:
        home = self.work / name
        home.mkdir(exist_ok=True)
        return [sys.executable, "-m", "modelyard.cli", "--home", str(home), *args]

    def start_s3(self) -> None:
        port = free_port()
        self.s3 = f"http://127.0.0.1:{port}"
        server = shutil.which("moto_server") or "moto_server"
        self._spawn("s3", [server, "-H", "127.0.0.1", "-p", str(port)], port)
        wait_for(lambda: _answers(self.s3), 30, "moto's S3 server to listen")
        import s3fs

        for key, value in s3_env(self.s3).items():
            os.environ[key] = value
        s3fs.S3FileSystem(skip_instance_cache=True).mkdir(self.bucket)

    def start_replica(self, name: str) -> Proc:
        """A ``modelyard serve --no-controller`` on its own port (the same one when
        restarted, as the balancer knows it)."""
        port = self.replica_ports.setdefault(name, free_port())
        argv = self._cli(name, "serve", "--dev", "--no-controller", "--port", str(port))
        return self._spawn(name, argv, port)

    def start_controller(self, name: str) -> Proc:
        return self._spawn(name, self._cli(name, "controller"))

    def start_balancer(self, replicas: list[str]) -> Proc:
        self.balancer_port = free_port()
        config = self.work / "haproxy.cfg"
        config.write_text(haproxy_config(self.balancer_port, self.replica_ports, replicas))
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        checked = subprocess.run(
            [binary, "-c", "-f", str(config)], capture_output=True, text=True, check=False
        )
        if checked.returncode != 0:
            raise RuntimeError(f"haproxy refused its config:\n{checked.stdout}{checked.stderr}")
        proc = self._spawn("haproxy", [binary, "-db", "-f", str(config)], self.balancer_port)
        wait_for(lambda: _answers(self.balancer), 10, "HAProxy to listen")
        return proc

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            with suppress(ProcessLookupError, subprocess.TimeoutExpired):
                proc.kill()


def haproxy_config(port: int, ports: dict[str, int], replicas: list[str]) -> str:
    """Round robin over the replicas, each checked on ``/health/ready`` every 200 ms.

    A request whose connection fails, or whose replica closes it before answering, is sent
    again to another replica (``retry-on`` + ``option redispatch``): predictions are
    idempotent reads (the same rows give the same answer; a retried one is logged once,
    by the replica that answered it). A connection the dying replica *resets* is not
    retried by HAProxy; see docs/scaling.md for why and what the client does."""
    servers = "\n".join(
        f"    server {name} 127.0.0.1:{ports[name]} check inter 200ms fall 1 rise 2"
        for name in replicas
    )
    return f"""global
    maxconn 512
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend fleet
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /health/ready
    http-response set-header X-Served-By %[srv_name]
{servers}
"""


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
        return True
    except httpx.HTTPError:
        return False


def wait_for(done: Callable[[], bool], seconds: float, what: str, step: float = 0.05) -> float:
    """Poll ``done`` until true; return the seconds it took."""
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"timed out after {seconds:g}s waiting for {what}")
        time.sleep(step)
    return time.monotonic() - start


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def running_fleet(work: Path, db_url: str, replicas: list[str]) -> Iterator[Fleet]:
    """S3 first (the yard is registered into by the caller between ``start_s3`` and the
    replicas, see ``Fleet``); everything is SIGKILLed on the way out."""
    fleet = Fleet(work, db_url)
    with ExitStack() as stack:
        stack.callback(fleet.stop)
        yield fleet


# -- the scenario ----------------------------------------------------------------------------


@dataclass
class Answer:
    sent: float
    at: float
    status: int  # 0: no HTTP answer at all
    server: str
    version: str
    ids: list[str]
    retry: bool = False  # the client's second try of a request that got no answer


PROBE_ROW: dict[str, float] = {}  # a valid row, for asking a replica which version answers
PROBE_IDS: list[str] = []


# A user whose routing key lands in the candidate's half of a 50/50 split.
CANARY_USER = "user-2"


class Load:
    """A few client threads through the balancer, one row a request, a short pause between
    requests: steady and bounded (loopback only)."""

    def __init__(self, url: str, rows: list[dict[str, float]], threads: int = 3) -> None:
        import threading

        self.url, self.rows = url, rows
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, offset: int) -> None:
        turn = offset
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                row = self.rows[turn % len(self.rows)]
                turn += 1
                if not self._send(client, row, retry=False):
                    # Closed with no answer (docs/scaling.md: HAProxy's way of asking a
                    # keep-alive client to retry): a prediction is safe to send again, once.
                    self._send(client, row, retry=True)
                time.sleep(0.02)

    def _send(self, client: httpx.Client, row: dict[str, float], retry: bool) -> bool:
        """One request; False when the connection closed without any HTTP answer."""
        sent = time.monotonic()
        try:
            r = client.post("/v1/endpoints/churn-api/predict", json={"instances": [row]})
        except httpx.HTTPError as exc:
            self.answers.append(
                Answer(sent, time.monotonic(), 0, "", type(exc).__name__, [], retry)
            )
            return not isinstance(exc, httpx.RemoteProtocolError)
        ok = r.status_code == 200
        self.answers.append(
            Answer(
                sent,
                time.monotonic(),
                r.status_code,
                r.headers.get("x-served-by", ""),
                r.headers.get("x-modelyard-version", ""),
                list(r.json()["prediction_ids"]) if ok else [],
                retry,
            )
        )
        return True

    def failures(self, start: float, end: float = float("inf"), retries: bool = False) -> int:
        """Non-2xx answers sent in [start, end): first tries, or the client's retries."""
        return sum(
            1
            for a in list(self.answers)
            if start <= a.sent < end and a.status != 200 and a.retry == retries
        )


def _version_of(client: httpx.Client | str, key: str | None = None) -> str:
    """The version that answers (a client, or a replica's URL); its prediction ids are
    kept in ``PROBE_IDS``: they are answered rows too."""
    headers = {"X-Routing-Key": key} if key else {}
    body = {"instances": [PROBE_ROW]}
    path = "/v1/endpoints/churn-api/predict"
    try:
        if isinstance(client, str):
            r = httpx.post(f"{client}{path}", json=body, headers=headers)
        else:
            r = client.post(path, json=body, headers=headers)
    except httpx.HTTPError:
        return ""
    if r.status_code == 200:
        PROBE_IDS.extend(r.json()["prediction_ids"])
    return r.headers.get("x-modelyard-version", "")


def scenario(work: Path, db_url: str, say: Callable[[str], None] = print) -> dict[str, object]:
    """Run the whole story; return what was measured and seen (the test judges it)."""
    import json

    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from modelyard import Yard

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.astype(np.float64)
    models = [
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y),
        RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y),
        RandomForestClassifier(n_estimators=5, max_depth=3, random_state=1).fit(X, y),
    ]
    rows = X.to_dict(orient="records")
    PROBE_ROW.update(rows[0])
    seen: dict[str, object] = {}
    poll = float(INTERVALS["MODELYARD_POLL_SECONDS"])
    flush = float(INTERVALS["MODELYARD_MONITOR_FLUSH_SECONDS"])
    replicas = ["r1", "r2", "r3"]
    with running_fleet(work, db_url, replicas) as fleet:
        fleet.start_s3()
        say(f"S3 (moto) at {fleet.s3}; database {db_url.rsplit('/', 1)[-1]}")
        admin = Yard(
            work / "admin", db_url=db_url, artifacts=fleet.env["MODELYARD_ARTIFACTS"], actor="ops"
        )
        with admin as yard:
            for model in models:
                yard.register(model, "churn", sample=X)
            yard.set_alias("churn", "production", 1)
            yard.create_endpoint("churn-api", "churn@production")
            for name in replicas:
                fleet.start_replica(name)
            for name in ("c1", "c2"):
                fleet.start_controller(name)
            for name in replicas:
                proc = fleet.procs[name]
                wait_for(lambda p=proc: ready(p.url) or not p.alive(), 90, f"{name} ready")
                if not proc.alive():
                    raise RuntimeError(f"{name} exited:\n{proc.logs()[-3000:]}")
            fleet.start_balancer(replicas)
            wait_for(
                lambda: (
                    {
                        httpx.get(f"{fleet.balancer}/health/ready").headers.get("x-served-by")
                        for _ in range(6)
                    }
                    == set(replicas)
                ),
                10,
                "the balancer to see every replica up",
            )
            say(f"three replicas ready, HAProxy at {fleet.balancer}")
            with Load(fleet.balancer, rows) as load:
                time.sleep(1)

                # 1. An alias moves: every replica follows within a few refresh intervals.
                moved = time.monotonic()
                yard.set_alias("churn", "production", 2)
                took = {}
                for name in replicas:
                    url = fleet.procs[name].url
                    wait_for(lambda u=url: _version_of(u) == "churn@2", 40 * poll + 10, name)
                    took[name] = time.monotonic() - moved
                seen["alias_seconds"] = max(took.values())
                time.sleep(0.5)
                seen["alias_non_2xx"] = load.failures(moved, time.monotonic())
                say(
                    f"alias moved: all replicas on churn@2 in {seen['alias_seconds']:.2f}s "
                    f"(poll {poll}s); non-2xx {seen['alias_non_2xx']}"
                )

                # 2. SIGKILL one replica: the balancer routes around it.
                time.sleep(1)
                killed_at = time.monotonic()
                balancer = fleet.procs["haproxy"]
                downs = balancer.logs().count("replicas/r3 is DOWN")  # at start-up too
                fleet.procs["r3"].kill()
                down = wait_for(
                    lambda: balancer.logs().count("replicas/r3 is DOWN") > downs,
                    10,
                    "HAProxy to mark r3 down",
                    step=0.01,
                )
                time.sleep(max(0.0, 2 - down))
                # (from a second before: a request in flight when the kill came counts too)
                seen["kill_non_2xx"] = load.failures(killed_at - 1, time.monotonic())
                seen["kill_non_2xx_after_retry"] = load.failures(
                    killed_at - 1, time.monotonic(), retries=True
                )
                seen["kill_failures"] = [  # status 0: the client got no HTTP answer
                    (a.status, a.version, round(a.at - killed_at, 3))
                    for a in list(load.answers)
                    if a.sent >= killed_at - 1 and a.status != 200
                ]
                seen["r3_down_seconds"] = down
                seen["killed_at"] = killed_at
                say(
                    f"r3 SIGKILLed: non-2xx through the balancer {seen['kill_non_2xx']} "
                    f"{seen['kill_failures']}, after one client retry "
                    f"{seen['kill_non_2xx_after_retry']}; HAProxy marked r3 down "
                    f"{seen['r3_down_seconds']:.3f}s after the kill"
                )

                # 3. A canary; the controller holding the lease dies in the middle of it.
                leaders = [c for c in ("c1", "c2") if "lease taken" in fleet.procs[c].logs()]
                seen["leaders_before"] = leaders
                canary_at = time.monotonic()
                yard.start_rollout(
                    "churn-api",
                    "churn@3",
                    steps="50,100",
                    interval="6s",
                    checks=["error_rate<0.05"],
                    min_rows=10,
                )
                wait_for(lambda: yard.rollout_status("churn-api").weight == 50, 20, "the 50% step")
                for name in ("r1", "r2"):  # the split has reached both replicas
                    url = fleet.procs[name].url
                    wait_for(lambda u=url: _version_of(u, CANARY_USER) == "churn@3", 20, name)
                sticky = _sticky(fleet, ["r1", "r2"])
                seen["sticky_weight_after"] = yard.rollout_status("churn-api").weight
                seen["sticky_seconds_into_canary"] = time.monotonic() - canary_at
                say(f"sticky users: {sticky}")
                seen["sticky"] = sticky
                holder = fleet.procs[leaders[0]]
                other = fleet.procs["c2" if holder.name == "c1" else "c1"]
                during = yard.rollout_status("churn-api")
                seen["killed_during"] = f"{during.state} at {during.weight}%"
                seen["successor_had_lease"] = "lease taken" in other.logs()
                dead_at = time.monotonic()
                holder.kill()
                wait_for(lambda: "lease taken" in other.logs(), 30, "the other's lease")
                seen["takeover_seconds"] = time.monotonic() - dead_at
                say(
                    f"{holder.name} (lease holder) SIGKILLed mid-canary; {other.name} took "
                    f"the lease in {seen['takeover_seconds']:.2f}s"
                )
                wait_for(
                    lambda: yard.rollout_status("churn-api").state in ("succeeded", "aborted"),
                    60,
                    "the canary to end",
                )
                status = yard.rollout_status("churn-api")
                seen["rollout_state"] = status.state
                seen["rollout_message"] = status.message
                seen["history"] = [e.action for e in reversed(yard.rollout_history("churn-api"))]
                seen["production"] = yard.get_version("churn@production").version
                say(f"canary {status.state}: {seen['history']}")

                # 4. Restart the killed replica: ready only once its models are loaded.
                restarted = fleet.start_replica("r3")
                probes = []
                while True:
                    try:
                        r = httpx.get(f"{restarted.url}/health/ready", timeout=1)
                        probes.append(r.status_code)
                        if r.status_code == 200:
                            seen["ready_body"] = r.json()
                            break
                    except httpx.HTTPError:
                        probes.append(0)
                    if not restarted.alive() or len(probes) > 3000:
                        raise RuntimeError(f"r3 never ready:\n{restarted.logs()[-3000:]}")
                    time.sleep(0.02)
                first = time.monotonic()
                seen["first_version_after_ready"] = _version_of(restarted.url)
                seen["first_answer_seconds"] = time.monotonic() - first
                seen["probes"] = {"refused": probes.count(0), "503": probes.count(503)}
                back = wait_for(
                    lambda: any(a.server == "r3" and a.sent > first for a in list(load.answers)),
                    20,
                    "the balancer to send to r3 again",
                )
                seen["back_in_rotation_seconds"] = back
                say(
                    f"r3 restarted: probes before ready {seen['probes']}, "
                    f"back behind the balancer {back:.2f}s after ready"
                )
                time.sleep(0.5)
            answers = list(load.answers)
            seen["answers"] = len(answers)
            seen["non_2xx_total"] = sum(1 for a in answers if a.status != 200 and not a.retry)
            seen["non_2xx_after_retry_total"] = sum(
                1 for a in answers if a.status != 200 and a.retry
            )
            seen["non_2xx_statuses"] = sorted({a.status for a in answers if a.status != 200})
            seen["balancer_errors"] = [  # HAProxy's own account of the requests that failed
                line
                for line in fleet.procs["haproxy"].logs().splitlines()
                # a status other than 2xx, or a termination state other than "----"
                if re.search(
                    r"\] fleet \S+ \S+ (?:-1 |[^2]\d\d )\S+ - - |\] fleet \S+ \S+ \d+ \S+ - - [^-]",
                    line,
                )
            ]
            for line in seen["balancer_errors"]:  # type: ignore[attr-defined]
                say(f"HAProxy answered: {line}")
            time.sleep(flush * 4)  # the live replicas' last flush

            # 5. What the monitor holds, against what the clients were answered.
            answered = {i: a for a in answers for i in a.ids}
            probes = {i: Answer(0, 0, 200, "direct", "", [i]) for i in PROBE_IDS}
            seen["probe_rows"] = len(probes)
            answered.update({i: a for i, a in probes.items() if i not in answered})
            logged = logged_ids(yard)
            lost = [answered[i] for i in answered if i not in logged]
            seen["answered_rows"] = len(answered)
            seen["logged_rows"] = len(logged)
            seen["lost"] = [(a.server, killed_at - a.at) for a in lost]
            monitor = subprocess.run(
                fleet._cli("admin", "monitor", "status", "churn-api", "--since", "1h", "--json"),
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
                env={**os.environ, "PYTHONPATH": str(ROOT), **fleet.env},
            )
            if monitor.returncode != 0:
                raise RuntimeError(monitor.stderr)
            seen["window_rows"] = sum(v["rows"] for v in json.loads(monitor.stdout)["versions"])
            seen["r3_last_flush_rows"] = sum(
                len(a.ids)
                for a in answers
                if a.server == "r3" and killed_at - (flush + 1) <= a.at <= killed_at
            )
            say(
                f"answered {len(answered)} rows; logged {len(logged)}; monitor windows "
                f"{seen['window_rows']}; lost {len(lost)} (r3 answered "
                f"{seen['r3_last_flush_rows']} in its last flush interval)"
            )

            # 6. Every replica's /metrics is scraped.
            seen["metrics"] = {
                name: _predicted(httpx.get(f"{fleet.procs[name].url}/metrics").text)
                for name in replicas
            }
            say(f"predicted rows on each replica's /metrics: {seen['metrics']}")
    return seen


def _predicted(text: str) -> float:
    """The sum of ``modelyard_predicted_rows_total`` samples (-1: absent)."""
    samples = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("modelyard_predicted_rows_total")
    ]
    return sum(samples) if samples else -1.0


def _sticky(fleet: Fleet, names: list[str]) -> dict[str, object]:
    """Which version each of 20 users meets on each replica (asked directly, one user on
    every replica back to back, so a step landing in between is told apart: ask again)."""
    clients = {n: httpx.Client(base_url=fleet.procs[n].url, timeout=10) for n in names}
    met: dict[str, list[str]] = {n: [] for n in names}
    try:
        for user in (f"user-{i}" for i in range(20)):
            for _ in range(3):
                answers = {n: _version_of(c, user) for n, c in clients.items()}
                if len(set(answers.values())) == 1:
                    break
            for name, version in answers.items():
                met[name].append(version)
    finally:
        for client in clients.values():
            client.close()
    views = list(met.values())
    return {"agree": all(v == views[0] for v in views), "versions": sorted(set(views[0]))}
