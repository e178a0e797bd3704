"""Labels, order and escaping for what the page shows of a summary (numbers are formatted
by ``modelyard.formatting``, as on the command line)."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from modelyard.domain.estimates import Estimate
from modelyard.domain.monitor_results import (
    DRIFT,
    NO_DRIFT,
    NOT_ENOUGH,
    FeatureDrift,
    Quality,
)
from modelyard.formatting import DASH, as_number, num

LABEL_CHARS = 24  # tick labels are cut to this many characters (hover shows all)
TESTS = {
    "psi": "PSI",
    "jensenshannon": "Jensen–Shannon",
    "ks": "KS",
    "ks_p_value": "KS p-value",
    "wasserstein": "Wasserstein",
    "chi2_p_value": "χ² p-value",
}
QUALITY = {
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
}
VERDICT_CLASS = {DRIFT: "bad", NO_DRIFT: "ok", NOT_ENOUGH: "na"}


def drift_order(f: FeatureDrift) -> tuple[int, float, str]:
    """Drifted first, then no drift, then too little data; the most shifted first."""
    rank = {DRIFT: 0, NO_DRIFT: 1}.get(f.verdict, 2)
    score = as_number(f.score)
    shift = math.inf if score is None else score if f.test.endswith("p_value") else -score
    return rank, shift, f.feature


def test_columns(features: Iterable[FeatureDrift]) -> list[str]:
    seen: set[str] = set()
    for f in features:
        seen.update(f.values)
        seen.add(f.test)
    known = [t for t in TESTS if t in seen]
    return known + sorted(seen - set(known))


def quality_text(quality: Quality) -> str:
    if not quality.labeled:
        return DASH + " (no feedback)"
    metrics = [f"{QUALITY[k]} {num(quality.metric(k))}" for k in quality.measured]
    return f"{num(quality.labeled)} labelled" + (": " + ", ".join(metrics) if metrics else "")


def estimate_text(estimate: Estimate | None) -> str:
    """Each estimated metric with its interval and, once labels came, the realized value."""
    if estimate is None:
        return DASH + " (registered without a labelled holdout)"
    parts = []
    for name, m in estimate.metrics.items():
        text = f"{QUALITY[name]} {num(m.value)}"
        if m.low is not None and m.high is not None:
            text += f" [{num(m.low)}–{num(m.high)}]"
        if m.realized is not None:
            text += f" (realized {num(m.realized)})"
        parts.append(text)
    method = "CBPE" if estimate.method == "cbpe" else "DLE"
    return (
        f"{method} on {num(estimate.rows)} rows: {', '.join(parts)}. "
        f"Assumes {'; '.join(estimate.assumptions())}."
    )


def headline_quality(quality: Quality) -> str:
    for key in ("accuracy", "f1", "mae", "rmse"):
        if as_number(quality.metric(key)) is not None:
            return f"{QUALITY[key]} {num(quality.metric(key))}"
    return DASH


def verdict_badge(verdict: str | None) -> str:
    if verdict is None:
        return DASH
    return f'<span class="verdict {VERDICT_CLASS.get(verdict, "na")}">{esc(verdict)}</span>'


def fact(name: str, value: str) -> str:
    return f'<tr><th scope="row">{name}</th><td>{value}</td></tr>'


def test_name(test: str) -> str:
    return TESTS.get(test, test)


def shares_of(counts: Sequence[int], total: int) -> list[float]:
    return [share_of(c, total) for c in counts]


def share_of(count: int, total: int) -> float:
    """A proportion, rounded to keep figure JSON small (a millionth is below a pixel)."""
    return round(count / total, 6) if total else 0.0


def utc(moment: datetime) -> str:
    """A bucket start as naive UTC text (plotly ignores offsets: show UTC, say so)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(sep=" ")


def cut(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def esc(text: str) -> str:
    """Data as HTML text or attribute value."""
    return html.escape(text, quote=True)


def plot_text(text: str) -> str:
    """Data as plotly label text: plotly draws a subset of HTML tags and decodes entities,
    so escaping shows the text as it is."""
    return html.escape(text, quote=False)
