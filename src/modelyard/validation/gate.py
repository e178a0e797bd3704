"""The promotion gate: what a candidate version must pass before an alias moves to it.

Four checks, each reported with its numbers: the holdout's data against the candidate's
signature; the candidate's metrics on the holdout against the current holder of the alias
(the champion), within a tolerance; robustness (answers stable under small noise on numeric
features, no failure on the signature's edge values); and an in-process latency budget
(p95 of one-row predictions). The gate judges; moving the alias is the caller's business.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics

from modelyard.errors import InvalidInput, first_line
from modelyard.runtime.predictor import Predictor

HIGHER_IS_BETTER = {"accuracy": True, "f1": True, "roc_auc": True, "mae": False, "rmse": False}


@dataclass(frozen=True)
class GateSettings:
    tolerance: float = 0.01  # accuracy points lost, or share of RMSE gained, still allowed
    latency_p95_ms: float = 100.0
    noise: float = 0.01  # noise added to numeric features, as a share of their spread
    min_agreement: float = 0.95  # answers unchanged under that noise (classification)
    max_relative_change: float = 0.05  # median change ÷ spread of answers (regression)
    latency_samples: int = 200

    def __post_init__(self) -> None:
        for name in ("tolerance", "noise"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise InvalidInput(f"{name} must be from 0 to 1, got {value}")
        if not 0 < self.latency_p95_ms <= 600_000:
            raise InvalidInput(f"latency budget must be above 0 ms, got {self.latency_p95_ms}")


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GateReport:
    candidate: str
    champion: str | None
    alias: str
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "champion": self.champion,
            "alias": self.alias,
            "passed": self.passed,
            "checks": [asdict(c) for c in self.checks],
        }


def run_gate(
    candidate: Predictor,
    champion: Predictor | None,
    alias: str,
    sample: pd.DataFrame,
    *,
    holdout: pd.DataFrame | None = None,
    label: str | None = None,
    settings: GateSettings | None = None,
) -> GateReport:
    """Judge ``candidate``; ``sample`` (the registration reference, or the holdout) feeds
    the robustness and latency checks."""
    settings = settings or GateSettings()
    checks: list[Check] = []
    if holdout is not None:
        if label is None or label not in holdout.columns:
            raise InvalidInput(f"the holdout needs its label column ({label or 'none given'!r})")
        features = holdout.drop(columns=[label])
        checks.append(_data(candidate, features))
        if not checks[-1].passed:  # nothing else can be measured on data the model refuses
            return GateReport(candidate.ref, champion.ref if champion else None, alias, checks)
        checks.append(
            _guarded(
                "metrics",
                lambda: _metrics(candidate, champion, features, holdout[label], settings.tolerance),
            )
        )
        sample = features
    else:
        checks.append(Check("metrics", True, "not compared: no holdout with labels was given", {}))
    if sample.empty:
        raise InvalidInput("no rows to run the robustness and latency checks on")
    checks.append(_robustness(candidate, sample, settings))
    checks.append(_guarded("latency", lambda: _latency(candidate, sample, settings)))
    return GateReport(candidate.ref, champion.ref if champion else None, alias, checks)


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    """A model that raises during a check fails that check; the gate itself goes on."""
    try:
        return check()
    except Exception as exc:
        return Check(name, False, f"the model raised: {first_line(exc)}")


def _data(candidate: Predictor, features: pd.DataFrame) -> Check:
    problems = candidate.signature.problems(features)
    if problems:
        first = problems[0]
        return Check(
            "data",
            False,
            f"{len(problems)} problem(s) against the signature, first: feature "
            f"{first['feature']!r} row {first['row']}: {first['rule']}",
            {"problems": problems[:20], "rows": len(features)},
        )
    return Check("data", True, f"{len(features)} rows match the signature", {"rows": len(features)})


def _metrics(
    candidate: Predictor,
    champion: Predictor | None,
    features: pd.DataFrame,
    truth: pd.Series,
    tolerance: float,
) -> Check:
    mine = _scores(candidate, features, truth)
    if champion is None or champion.ref == candidate.ref:
        return Check("metrics", True, "no champion to compare with", {"candidate": mine})
    theirs = _scores(champion, features, truth)
    key = "accuracy" if "accuracy" in mine else "rmse"
    if HIGHER_IS_BETTER[key]:
        passed = mine[key] >= theirs[key] - tolerance
        rule = f"{key} {mine[key]:.4f} vs {theirs[key]:.4f} (allowed loss {tolerance:g})"
    else:
        passed = mine[key] <= theirs[key] * (1 + tolerance)
        rule = f"{key} {mine[key]:.4f} vs {theirs[key]:.4f} (allowed gain {tolerance:.0%})"
    return Check(
        "metrics",
        passed,
        f"{rule} against {champion.ref}",
        {"candidate": mine, "champion": theirs, "primary": key, "tolerance": tolerance},
    )


def _scores(predictor: Predictor, features: pd.DataFrame, truth: pd.Series) -> dict[str, float]:
    predicted = predictor.predict(features)
    if predictor.signature.output.kind == "classification":
        y_true = truth.astype(str).to_numpy()
        y_pred = np.asarray(predicted).astype(str)
        scores = {
            "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
            "f1": float(metrics.f1_score(y_true, y_pred, average="macro", zero_division=0)),
        }
        classes = [str(c) for c in predictor.classes or ()]
        binary = len(classes) == 2 and set(y_true) == set(classes)
        if predictor.has_proba and binary:
            proba = predictor.predict_proba(features)[:, 1]
            scores["roc_auc"] = float(metrics.roc_auc_score(y_true == classes[1], proba))
        return scores
    y = truth.to_numpy(dtype=float)
    p = np.asarray(predicted, dtype=float)
    return {
        "mae": float(metrics.mean_absolute_error(y, p)),
        "rmse": float(math.sqrt(metrics.mean_squared_error(y, p))),
    }


def _robustness(candidate: Predictor, sample: pd.DataFrame, settings: GateSettings) -> Check:
    rows = sample.head(1000).reset_index(drop=True)
    try:
        base = np.asarray(candidate.predict(rows))
        noisy = np.asarray(candidate.predict(_jitter(candidate, rows, settings.noise)))
        edges = _edge_rows(candidate)
        edge_out = np.asarray(candidate.predict(edges)) if len(edges) else np.array([])
    except Exception as exc:  # a model that fails here would fail in production
        return Check("robustness", False, f"the model raised: {first_line(exc)}")
    if edge_out.dtype.kind == "f" and not np.isfinite(edge_out).all():
        return Check("robustness", False, "non-finite answers on the signature's edge values")
    values: dict[str, Any] = {"rows": len(rows), "edge_rows": len(edges), "noise": settings.noise}
    if candidate.signature.output.kind == "classification":
        agreement = float(np.mean(base == noisy))
        values["agreement"] = agreement
        passed = agreement >= settings.min_agreement
        detail = (
            f"{agreement:.1%} of answers unchanged under noise (need {settings.min_agreement:.0%})"
        )
    else:
        spread = float(np.std(base.astype(float))) or 1.0
        change = float(np.median(np.abs(base.astype(float) - noisy.astype(float)))) / spread
        values["relative_change"] = change
        passed = change <= settings.max_relative_change
        detail = f"median change {change:.3f} of the answers' spread under noise"
    return Check("robustness", passed, detail + f"; {len(edges)} edge rows answered", values)


def _jitter(candidate: Predictor, rows: pd.DataFrame, noise: float) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    out = rows.copy()
    for spec in candidate.signature.inputs:
        if spec.kind != "float" or spec.name not in out.columns:
            continue
        column = pd.to_numeric(out[spec.name], errors="coerce").astype(float)
        spread = float(column.std()) if column.notna().sum() > 1 else 0.0
        if spread > 0:
            out[spec.name] = column + rng.normal(0.0, noise * spread, len(column))
    return out


def _edge_rows(candidate: Predictor) -> pd.DataFrame:
    """Rows at the observed minimum and maximum of every numeric feature (others at a
    known category), which a model must answer without failing."""
    rows: list[dict[str, Any]] = []
    for pick in ("min", "max"):
        row: dict[str, Any] = {}
        for spec in candidate.signature.inputs:
            if spec.numeric:
                value = getattr(spec, pick)
                value = 0.0 if value is None else value
                row[spec.name] = bool(value) if spec.kind == "bool" else value
            else:
                row[spec.name] = spec.categories[0] if spec.categories else ""
        rows.append(row)
    return pd.DataFrame(rows)


def _latency(candidate: Predictor, sample: pd.DataFrame, settings: GateSettings) -> Check:
    rows = sample.head(settings.latency_samples)
    timings = []
    for i in range(len(rows)):
        one = rows.iloc[i : i + 1]
        started = time.perf_counter()
        candidate.predict(one)
        timings.append((time.perf_counter() - started) * 1000)
    p95 = float(np.percentile(timings, 95))
    passed = p95 <= settings.latency_p95_ms
    return Check(
        "latency",
        passed,
        f"p95 {p95:.2f} ms over {len(timings)} one-row predictions "
        f"(budget {settings.latency_p95_ms:g} ms)",
        {"p95_ms": p95, "p50_ms": float(np.percentile(timings, 50)), "samples": len(timings)},
    )
