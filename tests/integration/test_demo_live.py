"""`modelyard demo --exit-when-done`: the whole loop, narrated, from a fresh home."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_the_demo_tells_the_whole_story_and_exits_zero(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    done = subprocess.run(
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
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    live = json.loads(done.stdout)["live"]
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
