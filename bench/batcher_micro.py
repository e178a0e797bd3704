"""The micro-batcher's own cost per request: this checkout's against another revision's.

    .venv/bin/python bench/batcher_micro.py [--against main] [--rounds 15]

Both batchers run in this process, on one runner over a ``DummyClassifier`` (so the model
costs next to nothing and the batcher's work shows), interleaved round by round: one-row
requests one at a time (c=1) and 64 at once (c=64). The other revision's
``runtime/batcher.py`` is taken with ``git show`` and run against this checkout's runner,
so the change measured is the batcher's alone. Prints µs per request, best and median of
the rounds, and the ratio this/other: best-of is the figure to quote on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _other_batcher(revision: str, into: Path) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{revision}:src/modelyard/runtime/batcher.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = into / "other_batcher.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("other_batcher", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["other_batcher"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


async def _one_at_a_time(batcher: Any, rows: Any, requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        await batcher.submit(rows)
    elapsed = time.perf_counter() - started
    await batcher.close()
    return elapsed / requests * 1e6


async def _sixty_four_at_once(batcher: Any, rows: Any, rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        await asyncio.gather(*(batcher.submit(rows) for _ in range(64)))
    elapsed = time.perf_counter() - started
    await batcher.close()
    return elapsed / (rounds * 64) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", default="main", help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    from sklearn.datasets import load_breast_cancer
    from sklearn.dummy import DummyClassifier

    from modelyard import Yard
    from modelyard.domain.endpoints import Limits
    from modelyard.runtime.batcher import MicroBatcher
    from modelyard.runtime.inputs import from_frame
    from modelyard.runtime.runner import ModelRunner

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    with tempfile.TemporaryDirectory() as tmp:
        other = _other_batcher(args.against, Path(tmp)).MicroBatcher
        with Yard(Path(tmp) / "home") as yard:
            yard.register(DummyClassifier().fit(X, y), "dummy", sample=X)
            runner = ModelRunner(yard.load("dummy@1"))
        rows = from_frame(runner.predictor.signature, X.iloc[:1])
        kinds = {"this": MicroBatcher, args.against: other}
        times: dict[tuple[str, str], list[float]] = {}
        for round_ in range(args.rounds):
            order = list(kinds) if round_ % 2 == 0 else list(reversed(kinds))
            for name in order:
                cls = kinds[name]
                c1 = asyncio.run(_one_at_a_time(cls(runner, Limits()), rows, 3000))
                c64 = asyncio.run(
                    _sixty_four_at_once(cls(runner, Limits(), crowded=lambda: True), rows, 60)
                )
                times.setdefault((name, "c=1"), []).append(c1)
                times.setdefault((name, "c=64"), []).append(c64)
        runner.close()
    for case in ("c=1", "c=64"):
        this, that = times[("this", case)], times[(args.against, case)]
        print(
            f"{case}: best {min(this):.1f} vs {min(that):.1f} us/request "
            f"(this/{args.against} {min(this) / min(that):.3f}); median "
            f"{statistics.median(this):.1f} vs {statistics.median(that):.1f} "
            f"({statistics.median(this) / statistics.median(that):.3f})"
        )


if __name__ == "__main__":
    sys.exit(main())
