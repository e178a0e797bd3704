"""The live chapters of the demo: serve, watch, roll out, break, roll back.

Everything runs through what a user has: ``modelyard serve`` as a real process, HTTP
callers, the Yard API for the commands a user would type. Time is compressed only through
settings a user can set too (short monitor buckets, a fast controller), never special paths.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pandas as pd

from modelyard.demo.receiver import AlertReceiver
from modelyard.demo.traffic import LABEL_DELAY, Traffic
from modelyard.domain.endpoints import Route
from modelyard.errors import ModelFailed, YardError

if TYPE_CHECKING:
    from modelyard.yard import Yard

# The same MODELYARD_* settings a user would set, with minutes turned into seconds.
COMPRESSED = {
    "MODELYARD_MONITOR_BUCKET_SECONDS": "2",
    "MODELYARD_MONITOR_FLUSH_SECONDS": "0.5",
    "MODELYARD_MONITOR_REFRESH_SECONDS": "2",
    "MODELYARD_MONITOR_ROLLING_SECONDS": "30",
    "MODELYARD_CONTROLLER_INTERVAL": "0.5",
    "MODELYARD_POLL_SECONDS": "0.5",
    # One OpenMP/BLAS thread per model: on a machine whose other cores are busy, a team of
    # two waits on the busy core at every call (PERF_NOTES: stalls) — the gradient-boosted
    # canary's p95 went from 20 ms to 550 ms with one core kept busy.
    "MODELYARD_NATIVE_THREADS": "1",
}
ENDPOINT = "churn-api"
# Judged against the baseline, not a fixed budget: on a busy machine both versions slow down.
# The margin is added, not multiplied: the candidate (100 boosted trees) costs a few times the
# baseline's logistic regression by itself, so on a quiet machine "3× a 2 ms p95" failed it
# for being a bigger model (p95 6.7 ms); it may add at most 100 ms at p95. A step lasts
# seconds, a p95 over a hundred rows is noisy, and at the 100 % step the baseline's figure
# comes from the step before, under other load.
CANARY_CHECKS = ("error_rate<0.01", "p95_ms<baseline+100", "accuracy>=baseline-0.1")
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
    yard: Yard,
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
    story = _Story(result, yard, receiver, say, cli, allowing)
    try:
        server.wait_ready()
        story.serve(server, traffic)
        promoted = story.canary(candidate)
        story.drift(traffic, promoted)
        story.report(server)
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


class _Story:
    """The chapters, each told as it happens; one that does not happen is told so and the
    story goes on to a state that still makes sense (the server up, the report written)."""

    def __init__(
        self,
        result: LiveResult,
        yard: Yard,
        receiver: AlertReceiver,
        say: Say,
        cli: str,
        allowing: str,
    ) -> None:
        self.result = result
        self.yard = yard
        self.receiver = receiver
        self.say = say
        self.cli = cli
        self.allowing = allowing

    def _missed(self, chapter: Chapter, why: str) -> None:
        chapter.figures["missed"] = why
        self.say(f"   [yellow]this chapter did not happen: {why}[/yellow]")

    def serve(self, server: _Server, traffic: Traffic) -> None:
        chapter = _chapter(self.result, "serve and watch")
        traffic.start()
        try:
            _wait(lambda: sum(traffic.served.values()) >= 300, 60, "300 answered requests")
        except ModelFailed as exc:
            self._missed(chapter, str(exc))
        else:
            chapter.done = True
        chapter.figures["requests"] = sum(traffic.served.values())
        self.say(
            f"6. serving on {server.url}; callers replay the test split, labels follow "
            f"{LABEL_DELAY:g} s later    [dim]$ {self.allowing} serve --dev[/dim]"
        )

    def canary(self, candidate: str) -> bool:
        """Whether the candidate took over."""
        chapter = _chapter(self.result, "canary")
        self.yard.start_rollout(
            ENDPOINT,
            candidate,
            steps="25,100",
            interval="5s",
            checks=list(CANARY_CHECKS),
            min_rows=50,
            alert=self.receiver.url,
        )
        checks = " ".join(f"--check '{c}'" for c in CANARY_CHECKS)
        self.say(
            f"7. canary: {candidate} takes 25 %, then 100 %, while its checks hold against "
            f"the baseline    [dim]$ {self.allowing} rollout start {ENDPOINT} --candidate "
            f"{candidate} --steps 25,100 --interval 5s {checks} --min-rows 50 --alert "
            f"{self.receiver.url}[/dim]"
        )
        try:
            _wait(lambda: self.yard.rollout_status(ENDPOINT).state != "running", 90, "the canary")
        except ModelFailed as exc:
            with contextlib.suppress(YardError):  # it may have ended meanwhile
                self.yard.abort_rollout(ENDPOINT, reason="the demo moves on")
            self._missed(chapter, str(exc))
        rollout = self.yard.rollout_status(ENDPOINT)
        chapter.done = rollout.state == "succeeded"
        chapter.figures.update({"state": rollout.state, "message": rollout.message})
        self.say(
            f"   {rollout.state}: {rollout.message}    "
            f"[dim]$ {self.cli} rollout status {ENDPOINT}[/dim]"
        )
        if not chapter.done and "missed" not in chapter.figures:
            self._missed(chapter, f"the canary {rollout.state}, so {candidate} is not production")
        return chapter.done

    def drift(self, traffic: Traffic, promoted: bool) -> None:
        chapter = _chapter(self.result, "drift → policy → rollback → alert")
        yard = self.yard
        policy = yard.add_policy(
            ENDPOINT,
            "drift_share>0.3 for 2s",
            ["rollback", f"alert:{self.receiver.url}"],
            window="6s",
            cooldown="10m",
        )
        production = yard.get_version("churn@production").version
        alerts_before = len(self.receiver.alerts)
        traffic.shift = 1.6  # the world changes: every feature 60 % larger
        self.say(
            f"8. policy {policy.id}: when drift_share>0.3 for 2s → rollback, alert; now the "
            "callers' data shifts    [dim]$ "
            f"{self.allowing} policy add {ENDPOINT} --when 'drift_share>0.3 for 2s' --then "
            f"rollback --then alert:{self.receiver.url}[/dim]"
        )
        try:
            _wait(lambda: self._fired(policy.id), 90, "the drift policy to fire")
            _wait(lambda: len(self.receiver.alerts) > alerts_before, 30, "its alert")
            if promoted:  # with no canary taken over, there is no earlier version to go to
                _wait(
                    lambda: yard.get_version("churn@production").version != production,
                    30,
                    "the rollback",
                )
        except ModelFailed as exc:
            self._missed(chapter, str(exc))
        back = yard.get_version("churn@production").version
        chapter.figures.update({"rolled_back_to": back, "alerts": len(self.receiver.alerts)})
        fired = self._fired(policy.id)
        if fired is None:
            return
        if back == production:
            self._missed(
                chapter,
                f"churn@production stays v{back}: the canary did not take over, so there is "
                "no earlier version to roll back to (the alert still went out)",
            )
            return
        chapter.done = "missed" not in chapter.figures
        self.say(
            f"   fired ({fired.details['detail']}); churn@production → v{back}; the receiver "
            f"got {len(self.receiver.alerts)} alerts    "
            f"[dim]$ {self.cli} policy history {ENDPOINT}[/dim]"
        )

    def _fired(self, policy: int) -> Any:
        return next(
            (
                e
                for e in self.yard.policy_history(ENDPOINT)
                if e.action == "policy.fired" and e.details.get("policy") == policy
            ),
            None,
        )

    def report(self, server: _Server) -> None:
        chapter = _chapter(self.result, "report")
        report = self.result_path()
        _write_report(self.yard, report)
        self.result.report = str(report)
        chapter.done = report.exists()
        cli = self.cli
        self.say(
            f"9. monitor report: {report}    [dim]$ {cli} monitor report {ENDPOINT} "
            "--since 10m[/dim]"
        )
        self.say(
            f"\nconsole {server.url}/ui#/endpoints/{ENDPOINT} · API docs {server.url}/docs · "
            f"metrics {server.url}/metrics · monitor {server.url}/api/endpoints/{ENDPOINT}/monitor"
            f" · report file://{report}"
        )
        self.say(
            "\nTry it yourself (in another terminal, while this serves):\n"
            f"  {cli} rollout status {ENDPOINT}\n"
            f"  {cli} policy history {ENDPOINT}\n"
            f"  {cli} monitor status {ENDPOINT} --since 10m\n"
            f"  {cli} alias history churn production\n"
            f"  {cli} audit --target endpoint:{ENDPOINT}"
        )

    def result_path(self) -> Path:
        return Path(self.yard.settings.home) / f"{ENDPOINT}-report.html"


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


def _write_report(yard: Yard, path: Path) -> None:
    from datetime import timedelta

    from modelyard.monitoring.report import render_html
    from modelyard.monitoring.summary import summarize_recent

    summary = summarize_recent(
        yard.monitor,
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
