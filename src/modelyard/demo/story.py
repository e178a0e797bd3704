"""The live chapters of the demo: serve, watch, roll out, break, roll back.

Everything runs through what a user has: ``modelyard serve`` as a real process, HTTP
callers, the Yard API for the commands a user would type. Time is compressed only through
settings a user can set too (short monitor buckets, a fast controller), never special paths.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from modelyard.demo.receiver import AlertReceiver
from modelyard.demo.traffic import LABEL_DELAY, Traffic
from modelyard.domain.endpoints import Route
from modelyard.errors import ModelFailed

# The same MODELYARD_* settings a user would set, with minutes turned into seconds.
COMPRESSED = {
    "MODELYARD_MONITOR_BUCKET_SECONDS": "2",
    "MODELYARD_MONITOR_FLUSH_SECONDS": "0.5",
    "MODELYARD_MONITOR_REFRESH_SECONDS": "2",
    "MODELYARD_MONITOR_ROLLING_SECONDS": "30",
    "MODELYARD_CONTROLLER_INTERVAL": "0.5",
    "MODELYARD_POLL_SECONDS": "0.5",
}
ENDPOINT = "churn-api"
# The demo's alert receiver listens on loopback, which webhooks may reach only when the
# operator's allow-list names it: the demo names it, as a user running one would.
RECEIVER_HOST = "127.0.0.1"


@dataclass
class Chapter:
    title: str
    done: bool = False
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class LiveResult:
    url: str = ""
    report: str = ""
    chapters: list[Chapter] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.chapters) and all(c.done for c in self.chapters)


Say = Callable[[str], None]


def run_live(
    home: Path,
    yard: Any,
    X_test: pd.DataFrame,
    y_test: pd.Series,
    say: Say,
    *,
    candidate: str,
    port: int | None = None,
    keep_serving: bool = True,
) -> LiveResult:
    from modelyard.yard import Yard

    result = LiveResult()
    allow = ",".join(filter(None, (yard.settings.webhook_allow, RECEIVER_HOST)))
    yard = Yard(settings=yard.settings.model_copy(update={"webhook_allow": allow}))
    cli = f"modelyard --home {home}"
    allowing = f"MODELYARD_WEBHOOK_ALLOW={RECEIVER_HOST} {cli}"  # for what sends or sets alerts
    yard.set_routes(ENDPOINT, [Route("churn@production")], sticky_key="user_id")
    receiver = AlertReceiver(host=RECEIVER_HOST).start()
    server = _start_server(home, port or _free_port(), allow)
    result.url = server.url
    traffic = Traffic(server.url, ENDPOINT, X_test, y_test)
    try:
        chapter = _chapter(result, "serve and watch")
        server.wait_ready()
        traffic.start()
        _wait(lambda: sum(traffic.served.values()) >= 300, 60, "300 answered requests")
        chapter.done = True
        chapter.figures = {"requests": sum(traffic.served.values())}
        say(
            f"6. serving on {server.url}; callers replay the test split, labels follow "
            f"{LABEL_DELAY:g} s later    [dim]$ {allowing} serve --dev[/dim]"
        )

        chapter = _chapter(result, "canary")
        rollout = yard.start_rollout(
            ENDPOINT,
            candidate,
            steps="25,100",
            interval="5s",
            # A wide margin: seconds of traffic give only tens of labels per step.
            checks=["error_rate<0.01", "p95_ms<250", "accuracy>=baseline-0.1"],
            min_rows=50,
            alert=receiver.url,
        )
        say(
            f"7. canary: {candidate} takes 25 %, then 100 %, while its checks hold against "
            f"the baseline    [dim]$ {allowing} rollout start {ENDPOINT} --candidate "
            f"{candidate} --steps 25,100 --interval 5s --check 'error_rate<0.01' --check "
            f"'p95_ms<250' --check 'accuracy>=baseline-0.1' --min-rows 50 --alert "
            f"{receiver.url}[/dim]"
        )
        _wait(lambda: yard.rollout_status(ENDPOINT).state != "running", 90, "the canary")
        rollout = yard.rollout_status(ENDPOINT)
        chapter.done = rollout.state == "succeeded"
        chapter.figures = {"state": rollout.state, "message": rollout.message}
        say(
            f"   {rollout.state}: {rollout.message}    [dim]$ {cli} rollout status {ENDPOINT}[/dim]"
        )

        chapter = _chapter(result, "drift → policy → rollback → alert")
        policy = yard.add_policy(
            ENDPOINT,
            "drift_share>0.3 for 2s",
            ["rollback", f"alert:{receiver.url}"],
            window="6s",
            cooldown="10m",
        )
        production = yard.get_version("churn@production").version
        traffic.shift = 1.6  # the world changes: every feature 60 % larger
        say(
            f"8. policy {policy.id}: when drift_share>0.3 for 2s → rollback, alert; now the "
            "callers' data shifts    [dim]$ "
            f"{allowing} policy add {ENDPOINT} --when 'drift_share>0.3 for 2s' --then rollback "
            f"--then alert:{receiver.url}[/dim]"
        )
        _wait(
            lambda: yard.get_version("churn@production").version != production,
            90,
            "the policy to roll back",
        )
        _wait(lambda: len(receiver.alerts) >= 2, 30, "the alerts")  # rollout + policy
        back = yard.get_version("churn@production").version
        fired = next(e for e in yard.policy_history(ENDPOINT) if e.action == "policy.fired")
        chapter.done = True
        chapter.figures = {"rolled_back_to": back, "alerts": len(receiver.alerts)}
        say(
            f"   fired ({fired.details['detail']}); churn@production → v{back}; the receiver "
            f"got {len(receiver.alerts)} alerts    [dim]$ {cli} policy history {ENDPOINT}[/dim]"
        )

        chapter = _chapter(result, "report")
        report = home / f"{ENDPOINT}-report.html"
        _write_report(yard, report)
        result.report = str(report)
        chapter.done = report.exists()
        say(
            f"9. monitor report: {report}    [dim]$ {cli} monitor report {ENDPOINT} "
            "--since 10m[/dim]"
        )
        say(
            f"\nconsole {server.url}/ui#/endpoints/{ENDPOINT} · API docs {server.url}/docs · "
            f"metrics {server.url}/metrics · monitor {server.url}/api/endpoints/{ENDPOINT}/monitor"
            f" · report file://{report}"
        )
        say(
            "\nTry it yourself (in another terminal, while this serves):\n"
            f"  {cli} rollout status {ENDPOINT}\n"
            f"  {cli} policy history {ENDPOINT}\n"
            f"  {cli} monitor status {ENDPOINT} --since 10m\n"
            f"  {cli} alias history churn production\n"
            f"  {cli} audit --target endpoint:{ENDPOINT}"
        )
        if keep_serving:
            traffic.shift = 1.0
            say("serving until Ctrl-C …")
            _serve_until_interrupted(server)
    finally:
        traffic.stop()
        server.stop()
        receiver.close()
        yard.close()
    return result


def _chapter(result: LiveResult, title: str) -> Chapter:
    chapter = Chapter(title)
    result.chapters.append(chapter)
    return chapter


def _wait(done: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise ModelFailed(f"demo: timed out after {seconds:.0f}s waiting for {what}")
        time.sleep(0.25)


def _write_report(yard: Any, path: Path) -> None:
    from datetime import timedelta

    from modelyard.monitoring.report import render_html
    from modelyard.monitoring.summary import summarize_recent

    summary = summarize_recent(
        yard,
        ENDPOINT,
        timedelta(minutes=10),
        histograms=True,
        bucket_seconds=int(COMPRESSED["MODELYARD_MONITOR_BUCKET_SECONDS"]),
    )
    path.write_text(render_html(summary), encoding="utf-8")


@dataclass
class _Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def wait_ready(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ModelFailed(f"demo: the server exited; see {self.log}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise ModelFailed(f"demo: the server was not ready in {seconds:.0f}s; see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _start_server(home: Path, port: int, webhook_allow: str) -> _Server:
    log = home / "server.log"
    environment = {
        **os.environ,
        **COMPRESSED,
        "MODELYARD_DRAIN_SECONDS": "0",
        "MODELYARD_WEBHOOK_ALLOW": webhook_allow,
    }
    command = [sys.executable, "-m", "modelyard.cli", "--home", str(home), "serve"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--dev"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    return _Server(f"http://127.0.0.1:{port}", process, log)


def _serve_until_interrupted(server: _Server) -> None:
    try:
        while server.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
