"""Reading, labelling and escaping the values of a summary's JSON, which may be missing or
malformed (numbers are formatted by ``modelyard.formatting``, as on the command line)."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from modelyard.domain.monitor_results import DRIFT, NO_DRIFT, NOT_ENOUGH
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


def severity(f: Mapping[str, Any]) -> tuple[int, float, str]:
    """Drifted first, then no drift, then too little data; the most shifted first."""
    rank = {DRIFT: 0, NO_DRIFT: 1, NOT_ENOUGH: 2}.get(as_text(f.get("verdict")), 2)
    test = as_text(f.get("test"))
    score = as_number(as_dict(f.get("values")).get(test))
    shift = math.inf if score is None else score if test.endswith("p_value") else -score
    return rank, shift, as_text(f.get("feature"))


def test_columns(features: Iterable[Mapping[str, Any]]) -> list[str]:
    seen: set[str] = set()
    for f in features:
        seen.update(as_text(k) for k in as_dict(f.get("values")))
        if f.get("test") is not None:
            seen.add(as_text(f.get("test")))
    known = [t for t in TESTS if t in seen]
    return known + sorted(seen - set(known))


def quality_text(quality: Mapping[str, Any]) -> str:
    labeled = as_number(quality.get("labeled"))
    if not labeled:
        return DASH + " (no feedback)"
    metrics = [f"{QUALITY[k]} {num(quality.get(k))}" for k in QUALITY if k in quality]
    return f"{num(quality.get('labeled'))} labelled" + (
        ": " + ", ".join(metrics) if metrics else ""
    )


def headline_quality(quality: Mapping[str, Any]) -> str:
    for key in ("accuracy", "f1", "mae", "rmse"):
        if as_number(quality.get(key)) is not None:
            return f"{QUALITY[key]} {num(quality.get(key))}"
    return DASH


def verdict_badge(verdict: Any) -> str:
    if verdict is None:
        return DASH
    text = as_text(verdict)
    return f'<span class="verdict {VERDICT_CLASS.get(text, "na")}">{esc(text)}</span>'


def fact(name: str, value: str) -> str:
    return f'<tr><th scope="row">{name}</th><td>{value}</td></tr>'


def test_name(test: Any) -> str:
    text = as_text(test)
    return TESTS.get(text, text) if test is not None else DASH


def shares_of(counts: Sequence[int], total: int) -> list[float]:
    return [share_of(c, total) for c in counts]


def share_of(count: int, total: int) -> float:
    """A proportion, rounded to keep figure JSON small (a millionth is below a pixel)."""
    return round(count / total, 6) if total else 0.0


def as_count(value: Any) -> int:
    number = as_number(value)
    return int(number) if number is not None and number > 0 else 0


def utc(value: Any) -> str:
    """A bucket start as naive UTC text (plotly ignores offsets: show UTC, say so)."""
    text = as_text(value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(sep=" ")


def cut(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def esc(text: str) -> str:
    """Data as HTML text or attribute value."""
    return html.escape(text, quote=True)


def plot_text(text: str) -> str:
    """Data as plotly label text: plotly draws a subset of HTML tags and decodes entities,
    so escaping shows the text as it is."""
    return html.escape(text, quote=False)
