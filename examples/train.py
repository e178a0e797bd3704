"""Train a churn stand-in (scikit-learn's breast-cancer data) and write what CI checks.

    python examples/train.py --out build [--seed 7] [--shift 0.0]

Writes ``model.skops``, ``train.parquet`` (the training features: the drift reference),
``today.parquet`` (a fresh batch; ``--shift`` moves every feature by that many standard
deviations, to see the gate fail) and ``holdout.parquet`` (features + ``label``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shift", type=float, default=0.0)
    args = parser.parse_args()
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, y, test_size=0.4, random_state=args.seed, stratify=y
    )
    X_today, X_hold, _, y_hold = train_test_split(
        X_rest, y_rest, test_size=0.5, random_state=args.seed, stratify=y_rest
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    args.out.mkdir(parents=True, exist_ok=True)
    sio.dump(model, args.out / "model.skops")
    X_train.to_parquet(args.out / "train.parquet")
    (X_today + args.shift * X_train.std()).to_parquet(args.out / "today.parquet")
    X_hold.assign(label=y_hold).to_parquet(args.out / "holdout.parquet")
    print(f"accuracy={model.score(X_hold, y_hold):.4f}")


if __name__ == "__main__":
    main()
