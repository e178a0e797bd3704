"""Real concurrency: separate OS processes moving one alias, compare-and-set races, and
threads registering versions of one model, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from modelyard import Yard

pytestmark = pytest.mark.slow

Data = tuple[pd.DataFrame, pd.Series]

# Each child opens its own Yard, says it is ready, waits for the shared go signal (so the
# processes really overlap), does its work and prints one JSON line.
_PRELUDE = """
import json, pathlib, sys, time
from modelyard import Yard, YardError
home, db_url, me, ready, go = sys.argv[1:6]
yard = Yard(home, db_url=db_url, actor=me)
pathlib.Path(ready).touch()
while not pathlib.Path(go).exists():
    time.sleep(0.005)
"""

MOVER = (
    _PRELUDE
    + """
offset = int(sys.argv[6])
errors = []
for i in range(100):
    try:
        yard.set_alias("churn", "production", 1 + (i + offset) % 3)
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    time.sleep(0.001)  # let the other process in: SQLite's busy wait favours the last writer
yard.close()
print(json.dumps({"errors": errors}))
"""
)

CAS = (
    _PRELUDE
    + """
target = int(sys.argv[6])
try:
    yard.set_alias("churn", "production", target, expect=1)
    outcome = "won"
except YardError as exc:
    outcome = f"{type(exc).__name__}: {exc}"
yard.close()
print(json.dumps({"target": target, "outcome": outcome}))
"""
)


def run_together(code: str, home: Path, db_url: str, args: list[str]) -> list[dict[str, Any]]:
    """Start one process per argument, release them at once, return their JSON results."""
    signals = home.parent / "signals"
    signals.mkdir(exist_ok=True)
    go = signals / "go"
    children = []
    for i, arg in enumerate(args):
        ready = signals / f"ready-{i}"
        command = [sys.executable, "-c", code, str(home), db_url, f"p{i}", str(ready), str(go)]
        children.append(
            (
                ready,
                subprocess.Popen(
                    [*command, arg], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                ),
            )
        )
    try:
        deadline = time.monotonic() + 60
        while not all(ready.exists() for ready, _ in children):
            assert all(p.poll() is None for _, p in children), "a child exited before starting"
            assert time.monotonic() < deadline, "children did not get ready"
            time.sleep(0.01)
        go.touch()
        results = []
        for _, process in children:
            out, err = process.communicate(timeout=90)
            assert process.returncode == 0, err
            assert "database is locked" not in err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for _, process in children:
            if process.poll() is None:
                process.kill()
                process.wait()


def with_versions(yard: Yard, model: Pipeline, count: int) -> None:
    for _ in range(count):
        yard.register(model, "churn")


def test_two_processes_moving_one_alias_keep_a_consistent_chain(
    yard: Yard, db_url: str, logreg: Pipeline, tmp_path: Path
):
    with_versions(yard, logreg, 3)
    revision_before = yard.revision()
    results = run_together(MOVER, tmp_path / "home", db_url, ["0", "1"])
    assert [r["errors"] for r in results] == [[], []]

    history = yard.alias_history("churn", "production")
    assert len(history) == 200
    assert Counter(e.actor for e in history) == {"p0": 100, "p1": 100}
    seqs = [e.seq for e in history]
    assert all(a < b for a, b in itertools.pairwise(seqs))
    assert history[0].from_version is None
    for before, after in itertools.pairwise(history):
        assert after.from_version == before.to_version
    assert yard.get_model("churn").aliases["production"] == history[-1].to_version
    assert yard.revision() == revision_before + 200
    assert len(yard.audit(action="alias.set", limit=1000)) == 200


def test_compare_and_set_race_has_exactly_one_winner(
    yard: Yard, db_url: str, logreg: Pipeline, tmp_path: Path
):
    with_versions(yard, logreg, 3)
    yard.set_alias("churn", "production", 1)
    results = run_together(CAS, tmp_path / "home", db_url, ["2", "3"])

    winners = [r["target"] for r in results if r["outcome"] == "won"]
    losers = [r["outcome"] for r in results if r["outcome"] != "won"]
    assert len(winners) == 1
    (loser,) = losers
    assert loser == (
        f"AliasMoved: churn@production points at version {winners[0]}, "
        "not 1 as expected; nothing changed"
    )
    assert yard.get_model("churn").aliases["production"] == winners[0]
    assert [(e.from_version, e.to_version) for e in yard.alias_history("churn")] == [
        (None, 1),
        (1, winners[0]),
    ]


def test_ten_threads_register_consecutive_versions(yard: Yard, logreg: Pipeline, cancer: Data):
    X, _ = cancer
    start = threading.Barrier(10)

    def register(_: int) -> int:
        start.wait(timeout=60)
        return yard.register(logreg, "churn", sample=X).version

    with ThreadPoolExecutor(max_workers=10) as pool:
        numbers = list(pool.map(register, range(10)))

    assert sorted(numbers) == list(range(1, 11))
    assert yard.get_model("churn").latest_version == 10
    assert [v.version for v in yard.list_versions("churn")] == list(range(1, 11))
    expected = logreg.predict(X)
    for number in numbers:
        np.testing.assert_array_equal(yard.load(f"churn@{number}").predict(X), expected)
