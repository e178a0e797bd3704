"""`modelyard demo --exit-when-done`: the whole loop, narrated, from a fresh home."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.serial]  # judges time: run alone


BUSY = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def test_the_demo_tells_the_whole_story_and_exits_zero_with_a_core_kept_busy(
    tmp_path: Path,
) -> None:
    """As on a laptop where something else runs: another process keeps one core busy for
    the whole demo (bounded in time), and every chapter still happens."""
    home = tmp_path / "demo"
    busy = subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=300)])
    try:
        done = _demo(home)
    finally:
        busy.kill()
        busy.wait()
    assert done.stdout.strip(), done.stderr[-3000:]
    live = json.loads(done.stdout)["live"]
    told = [(c["title"], c["done"], c["figures"]) for c in live["chapters"]]
    # a string, shown whole: which check stopped a canary is the thing to read
    assert done.returncode == 0, json.dumps(told, indent=1) + done.stderr[-2000:]
    assert [c["title"] for c in live["chapters"]] == [
        "serve and watch",
        "canary",
        "drift → policy → rollback → alert",
        "report",
    ]
    assert live["complete"]
    chapters = {c["title"]: c["figures"] for c in live["chapters"]}
    assert chapters["canary"]["state"] == "succeeded"
    assert chapters["drift → policy → rollback → alert"]["rolled_back_to"] == 1
    assert chapters["drift → policy → rollback → alert"]["alerts"] >= 2
    report = Path(live["report"]).read_text(encoding="utf-8")
    assert "churn-api" in report
    assert "<html" in report.lower()


def _demo(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "modelyard.cli",
            "demo",
            "--home",
            str(home),
            "--exit-when-done",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
