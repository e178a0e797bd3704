"""A retrain task a policy can call, Airflow-style: extract → train → evaluate → register
→ (optionally) start a canary.

    modelyard policy add churn-api --when "accuracy<0.9 for 30m" \\
        --then 'run:python examples/retrain.py --rollout'

The controller runs it with ``MODELYARD_ENDPOINT`` and ``MODELYARD_TRIGGER`` set and keeps
its exit code and the tail of what it prints. It never moves traffic itself: with
``--rollout`` it starts a canary, and the canary's checks decide.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

from modelyard import Yard


def extract(seed: int) -> list[Any]:
    """Stands in for "the last 30 days from the warehouse": train/test features and labels."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return list(train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y))


def main() -> int:
    parser = argparse.ArgumentParser(description="retrain, register, maybe start a canary")
    parser.add_argument("--endpoint", default=os.environ.get("MODELYARD_ENDPOINT", "churn-api"))
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--min-accuracy", type=float, default=0.9)
    parser.add_argument("--rollout", action="store_true", help="start a canary of the new version")
    args = parser.parse_args()
    trigger = os.environ.get("MODELYARD_TRIGGER", "by hand")

    X_train, X_test, y_train, y_test = extract(args.seed)
    model = HistGradientBoostingClassifier(random_state=args.seed).fit(X_train, y_train)
    accuracy = float(model.score(X_test, y_test))
    print(f"trained: accuracy {accuracy:.4f} on {len(X_test)} held-out rows ({trigger})")
    if accuracy < args.min_accuracy:
        print(f"not registered: accuracy below {args.min_accuracy}", file=sys.stderr)
        return 1
    with Yard(actor="retrain") as yard:
        name = yard.get_endpoint(args.endpoint).primary.model.partition("@")[0]
        version = yard.register(
            model,
            name,
            sample=X_train,
            metrics={"accuracy": accuracy},
            tags={"trigger": trigger},
            description=f"retrained ({trigger})",
        )
        print(f"registered {version.ref}")
        if args.rollout:
            rollout = yard.start_rollout(
                args.endpoint,
                version.ref,
                steps="10,50,100",
                interval="10m",
                checks=["error_rate<0.01", "accuracy>=baseline-0.02"],
                reason=f"retrained ({trigger})",
            )
            print(f"rollout {rollout.id}: {rollout.message}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
