"""Serve one scikit-learn model over HTTP and gRPC: modelyard against every peer, in one run.

    .venv/bin/python bench/serve.py            # full: 3 interleaved runs, every cell, medians
    .venv/bin/python bench/serve.py --quick    # one short round, three cells per peer

Peers (bench/serve_peers/peer_*.py, each in its own virtualenv under bench/.venvs/): the
tutorial FastAPI app, ``mlflow models serve``, MLServer, BentoML, LitServe, NVIDIA Triton
through PyTriton, and ``modelyard serve`` (one worker with monitoring on and off, two
workers), in JSON and, where the server speaks it, KServe v2 binary tensors and gRPC. Each
peer's predictions are checked identical to the model's before it is measured. The same run
measures the combined ceiling (a trivial ASGI app under uvicorn at c=64, and the model's
in-process predict_proba rows/s on 64-row batches). Method and caveats: bench/README.md.
Results: bench/results/serve.json (quick: serve-quick.json) with the markdown beside it; a
full run also rewrites the serve section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from serve_peers import ceiling
from serve_peers.common import RESULTS, RESULTS_MD, ROOT, stop_all
from serve_peers.models import MODELS
from serve_peers.peers import PEERS
from serve_peers.report import cells_of, markdown, replace_section, targets
from serve_peers.runner import Plan, run

FULL_CELLS = [(rows, c) for rows in (1, 100) for c in (1, 8, 64)]
QUICK_CELLS = [(1, 1), (1, 64), (100, 64)]


def plan_of(args: argparse.Namespace) -> Plan:
    quick = args.quick
    return Plan(
        mode="quick" if quick else "full",
        runs=args.runs if args.runs is not None else (1 if quick else 3),
        seconds=args.seconds if args.seconds is not None else (3.0 if quick else 10.0),
        warmup=args.warmup if args.warmup is not None else (0.5 if quick else 1.0),
        models=args.models,
        cells=QUICK_CELLS if quick else FULL_CELLS,
        skip=[p for p in PEERS if p in args.skip or (args.only and p not in args.only)],
        command=" ".join([".venv/bin/python bench/serve.py", *sys.argv[1:]]),
    )


def write(report: dict[str, Any], results_md: bool, name: str | None = None) -> None:
    name = name or ("serve-quick" if report["mode"] == "quick" else "serve")
    report["json_name"] = f"{name}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2) + "\n"
    (RESULTS / f"{name}.json").write_text(text, encoding="utf-8")
    table = markdown(report)
    (RESULTS / f"{name}.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    print(f"\nwritten bench/results/{name}.json and bench/results/{name}.md")
    if results_md:
        replace_section(RESULTS_MD, "serve", table)
        print(f"written {RESULTS_MD.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 run, 3 s windows, 3 cells")
    parser.add_argument("--runs", type=int, default=None, help="interleaved runs (default 3)")
    parser.add_argument("--seconds", type=float, default=None, help="window (10 s; quick 3 s)")
    parser.add_argument("--warmup", type=float, default=None, help="unmeasured s (1; quick 0.5)")
    parser.add_argument("--models", nargs="+", default=["hgb"], choices=MODELS)
    parser.add_argument("--skip", nargs="*", default=[], choices=PEERS, help="peers to leave out")
    parser.add_argument("--only", nargs="*", default=[], choices=PEERS, help="only these peers")
    parser.add_argument(
        "--no-results-md", action="store_true", help="a full run leaves bench/RESULTS.md alone"
    )
    parser.add_argument("--name", help="results file name (default serve / serve-quick)")
    parser.add_argument(
        "--render", type=Path, help="only rewrite the markdown (and RESULTS.md) from a JSON"
    )
    args = parser.parse_args()
    if args.render:
        report = json.loads(args.render.read_text(encoding="utf-8"))
        report["cells"] = cells_of(report["windows"])
        report["ceiling"] = ceiling.figures(report["windows"], report["ceiling_runs"])
        report["targets"] = targets(report["cells"], report["ceiling"])
        write(report, report["mode"] == "full" and not args.no_results_md, args.name)
        return 0
    plan = plan_of(args)
    if plan.runs < 1:
        parser.error("--runs must be at least 1")

    def interrupted(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    try:
        report = run(plan)
    except KeyboardInterrupt:
        print("[serve] interrupted; stopping servers", flush=True)
        return 130
    finally:
        stop_all()
    write(report, plan.mode == "full" and not args.no_results_md, args.name)
    minutes = report["elapsed_s"] / 60
    print(f"[serve] {plan.mode} run took {minutes:.1f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
