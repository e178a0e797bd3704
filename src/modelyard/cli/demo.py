"""The demo scenario `make demo` runs: the whole loop, narrated.

It trains two classifiers on scikit-learn's bundled breast-cancer data (standing in for a
churn table) inside tracked runs, registers both with their dataset and metrics, passes the
gate to make v1 ``churn@production`` and creates an endpoint; then (unless ``--offline``)
the live chapters in ``modelyard.demo.story``: a real server, callers with late labels, a
canary of v2 the controller promotes, a drift policy that rolls back and alerts.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from rich.panel import Panel
from rich.text import Text

from modelyard.cli.output import console, short_metrics, table, when
from modelyard.errors import Conflict, ModelFailed

MODEL = "churn"


MARKER = ".modelyard-demo"


def _fresh_home(home: Path) -> None:
    """Start from nothing, but only ever delete a folder an earlier demo created."""
    if home.exists():
        if not home.is_dir():
            raise Conflict(f"{home} exists and is not a folder; choose another --home")
        if any(home.iterdir()) and not (home / MARKER).exists():
            raise Conflict(
                f"{home} exists and was not made by `modelyard demo`; choose another --home"
            )
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / MARKER).write_text("made by `modelyard demo`; the next demo run replaces it\n")


def run_demo(
    home: Path, quiet: bool = False, *, live: bool = False, keep_serving: bool = True
) -> dict[str, Any]:
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from modelyard.yard import Yard

    def say(message: object) -> None:
        if not quiet:
            console.print(message)

    _fresh_home(home)
    yard = Yard(home, actor="demo")
    say(Panel.fit(Text(f"modelyard demo in {home} — {yard.stores.db.safe_url}")))

    frame, target = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        frame, target, test_size=0.25, random_state=7, stratify=target
    )
    data_dir = home / "data"
    data_dir.mkdir()
    X_train.assign(target=y_train).to_csv(data_dir / "train.csv", index=False)
    dataset = yard.add_dataset(
        data_dir / "train.csv",
        "cancer-train",
        description="breast cancer, 75% stratified split, seed 7",
    )
    say(
        f"1. dataset [bold]{dataset.ref}[/bold]: {dataset.rows} rows, sha256 "
        f"{dataset.sha256[:12]}…    [dim]$ modelyard data add data/train.csv --name "
        f"cancer-train[/dim]"
    )

    candidates = {
        "logistic": (
            make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000)),
            {"model": "logistic-regression", "C": 0.5},
        ),
        "hgb": (
            HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, random_state=7),
            {"model": "hist-gradient-boosting", "max_iter": 100, "learning_rate": 0.1},
        ),
    }
    versions = []
    for step, (run_name, (model, params)) in enumerate(candidates.items(), start=2):
        with (
            console.status(f"training {run_name}…", spinner="dots") if not quiet else _nothing(),
            yard.start_run(experiment=MODEL, name=run_name) as run,
        ):
            run.log_params(params)
            model.fit(X_train, y_train)
            scores = model.predict_proba(X_test)[:, 1]
            predicted = model.predict(X_test)
            metrics = {
                "accuracy": float(accuracy_score(y_test, predicted)),
                "f1": float(f1_score(y_test, predicted)),
                "roc_auc": float(roc_auc_score(y_test, scores)),
            }
            run.log_metrics(metrics)
            version = yard.register(
                model,
                MODEL,
                sample=X_train,
                metrics=metrics,
                params=params,
                datasets=[dataset],
                run=run,
                description=f"{params['model']} on {dataset.ref}",
            )
        versions.append(version)
        say(
            f"{step}. run [bold]{run.id[:12]}[/bold] ({run_name}) → registered "
            f"[bold]{version.ref}[/bold]: {short_metrics(metrics)}"
        )

    first, second = versions
    holdout = X_test.assign(label=y_test)
    promotion = yard.promote(MODEL, first.version, "production", holdout=holdout, label="label")
    if promotion.moved is None:
        raise ModelFailed(f"demo: the gate refused {first.ref}; see `modelyard audit`")
    say(
        f"4. gate passed ({', '.join(c.name for c in promotion.report.checks)}): "
        f"[bold]{MODEL}@production[/bold] → v{first.version}    [dim]$ modelyard promote "
        f"{MODEL} {first.version} --to production --holdout holdout.parquet[/dim]"
    )
    yard.create_endpoint("churn-api", f"{MODEL}@production")
    predictor = yard.load(f"{MODEL}@production")
    sample = X_test.iloc[:5]
    predicted = predictor.predict(sample)
    say(
        f"5. endpoint [bold]churn-api[/bold] → {MODEL}@production; loaded {predictor.ref} "
        f"(sha256 verified), predicted {np.asarray(predicted).tolist()}    "
        f"[dim]$ modelyard endpoint create churn-api --model {MODEL}@production[/dim]"
    )

    if not quiet:
        table(
            "registry",
            ["version", "aliases", "flavor", "metrics", "run", "created"],
            [
                [
                    v.ref,
                    ", ".join(v.aliases) or "—",
                    v.flavor,
                    short_metrics(v.metrics),
                    (v.run_id or "—")[:12],
                    when(v.created_at),
                ]
                for v in yard.list_versions(MODEL)
            ],
        )
        lineage = yard.lineage(f"{MODEL}@production")
        code = lineage["code"]
        table(
            f"lineage of {MODEL}@production",
            ["version", "run", "dataset", "code commit"],
            [
                [
                    lineage["version"]["ref"],
                    f"{lineage['run']['id'][:12]} ({lineage['run']['name']})",
                    ", ".join(d["ref"] for d in lineage["datasets"]),
                    (code["commit"] or "not in a git repository")[:12],
                ]
            ],
        )
    if not quiet and not live:
        console.print(
            "\nTry it yourself:\n"
            f"  modelyard --home {home} models versions {MODEL}\n"
            f"  modelyard --home {home} lineage {MODEL}@production\n"
            f"  modelyard --home {home} runs compare {versions[0].run_id} {versions[1].run_id}\n"
            f"  modelyard --home {home} endpoint show churn-api\n"
            f"  modelyard --home {home} serve --dev\n"
            f"  modelyard --home {home} audit"
        )
    summary: dict[str, Any] = {
        "home": str(home),
        "versions": [v.ref for v in versions],
        "production": first.ref,
        "metrics": {v.ref: v.metrics for v in versions},
        "dataset": dataset.ref,
    }
    if live:
        from modelyard.demo.story import run_live

        result = run_live(
            home, yard, X_test, y_test, say, candidate=second.ref, keep_serving=keep_serving
        )
        summary["live"] = {
            "url": result.url,
            "report": result.report,
            "chapters": [
                {"title": c.title, "done": c.done, "figures": c.figures} for c in result.chapters
            ],
            "complete": result.complete,
        }
    yard.close()
    return summary


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None
