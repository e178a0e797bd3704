"""Conditions over monitor metrics: ``p95_ms<50``, ``accuracy>=baseline-0.02``,
``drift_share>0.3 for 15m`` — the language rollout checks and policies share.

A metric may name one segment of the traffic (``accuracy[country=FR]<0.8``) or every
segment of a feature (``estimated_accuracy[country=*]<0.85``): ``*`` judges the worst
segment, so a policy fires when any segment breaches and a rollout check passes only when
every segment does (domain/segments.py): against a baseline, a candidate segment with data
that cannot be judged (the baseline has no such segment yet) keeps the check waiting.
Segments report traffic, labels, drift share and quality (SEGMENT_METRICS); latency,
error rates and output drift are not split by segment, so brackets on them are refused.

Quality on a handful of labels is noise: with ``min_labeled`` (a rollout's ``min_rows``),
a quality metric is judged only once its labelled rows reach it — the version's
``labeled``, a segment's ``labeled[country=FR]``, a class's ``support[class=churn]`` —
and ``[feature=*]`` looks only at the segments that have that many.

A bracket without ``=`` names one feature's data-quality share or one refusal rule
(``missing_share[age]``), and ``[class=NAME]`` on precision, recall or f1 names one class
(domain/quality_signals.py).

A condition compares one metric of a version with a number, or with the same metric of
a baseline version plus/minus/times a number. A metric without data gives no verdict
(``None``), never a pass: a check that cannot be judged keeps a rollout waiting.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from modelyard.domain.monitor_results import QUALITY_METRICS
from modelyard.domain.monitoring import parse_period
from modelyard.domain.quality_signals import CLASS_METRICS, SHARE_METRICS, keyed_metric_problem
from modelyard.domain.segment_results import SEGMENT_METRICS
from modelyard.domain.segments import ANY, segment_key, segment_values, worst
from modelyard.errors import InvalidInput

# metric → (what it measures, higher is better). Names match `modelyard monitor status`.
METRICS: dict[str, str] = {
    "error_rate": "share of requests that failed on the server side (5xx)",
    "client_error_rate": "share of requests rejected as bad input (4xx)",
    "p50_ms": "median latency (ms)",
    "p95_ms": "95th percentile latency (ms)",
    "p99_ms": "99th percentile latency (ms)",
    "drift_share": "share of features whose drift test fires",
    "output_drift": "1 when the output distribution drifted, else 0",
    "requests": "requests served",
    "rows": "rows predicted",
    "feedback_coverage": "share of predictions with ground truth",
    "accuracy": "accuracy on predictions with ground truth",
    "precision": "precision on predictions with ground truth",
    "recall": "recall on predictions with ground truth",
    "f1": "F1 on predictions with ground truth",
    "roc_auc": "ROC AUC on predictions with ground truth",
    "mae": "mean absolute error on predictions with ground truth",
    "rmse": "root mean squared error on predictions with ground truth",
    "r2": "R² on predictions with ground truth",
    "estimated_accuracy": "accuracy estimated from probabilities alone (needs a holdout)",
    "estimated_precision": "precision estimated from probabilities alone (needs a holdout)",
    "estimated_recall": "recall estimated from probabilities alone (needs a holdout)",
    "estimated_f1": "F1 estimated from probabilities alone (needs a holdout)",
    "estimated_roc_auc": "ROC AUC estimated from probabilities alone (needs a holdout)",
    "estimated_mae": "MAE estimated by a nanny model of the error (needs a holdout)",
    "estimated_rmse": "RMSE estimated by a nanny model of the error (needs a holdout)",
}
METRICS.update(SHARE_METRICS)  # data quality; bracketed forms: domain/quality_signals.py

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}

MAX_TEXT = 200
_PATTERN = re.compile(
    r"^\s*(?P<metric>[a-z0-9_]+)(?P<bracket>\[[^\[\]]*\])?\s*(?P<op><=|>=|<|>)\s*"
    r"(?:(?P<baseline>baseline)\s*(?:(?P<sign>[-+*])\s*(?P<offset>[0-9.eE+-]+))?"
    r"|(?P<value>[-+]?[0-9.eE+-]+))"
    r"(?:\s+for\s+(?P<for>\S+))?\s*$"
)


@dataclass(frozen=True)
class Verdict:
    passed: bool | None  # None: no data to judge
    message: str


@dataclass(frozen=True)
class Condition:
    """``metric op value``; with ``relative`` the value applies to the baseline's metric
    (``sign``: how — ``-``/``+`` an offset, ``*`` a factor)."""

    metric: str
    op: str
    value: float
    relative: bool = False
    sign: str = "+"
    hold: timedelta = timedelta(0)  # "for 15m": how long it must hold before it counts
    text: str = ""
    segment: tuple[str, str] | None = None  # (feature, value or "*"): one segment's metric

    def threshold(self, baseline: float | None) -> float | None:
        if not self.relative:
            return self.value
        if baseline is None:
            return None
        if self.sign == "*":
            return baseline * self.value
        return baseline - self.value if self.sign == "-" else baseline + self.value

    def judge(
        self,
        metrics: Mapping[str, float | None],
        baseline: Mapping[str, float | None] | None = None,
        *,
        min_labeled: int = 0,
    ) -> Verdict:
        """``min_labeled``: the labelled rows a quality metric needs to be judged."""
        if self.segment is None:
            return self._judge(self.metric, metrics, baseline, min_labeled)
        feature, value = self.segment
        if value != ANY:
            name = segment_key(self.metric, feature, value)
            return self._judge(name, metrics, baseline, min_labeled)
        values = {
            v: number
            for v, number in segment_values(self.metric, feature, metrics).items()
            if number is not None
            and _short_of(segment_key(self.metric, feature, v), metrics, min_labeled) is None
        }
        if baseline is None or not self.relative:
            found = worst(self.metric, values)
            if found is None:
                return Verdict(None, f"{self.metric}[{feature}=*]: no segment has data yet")
            name = segment_key(self.metric, feature, found[0])
            return self._judge(name, metrics, baseline, min_labeled)
        # Against a baseline, each segment is compared with the same segment of the
        # baseline: any failing fails, any that cannot be judged yet keeps it waiting.
        verdicts = [
            self._judge(segment_key(self.metric, feature, v), metrics, baseline, min_labeled)
            for v in values
        ]
        for wanted in (False, None, True):
            for verdict in verdicts:
                if verdict.passed is wanted:
                    return verdict
        return Verdict(None, f"{self.metric}[{feature}=*]: no segment has data yet")

    def _judge(
        self,
        name: str,
        metrics: Mapping[str, float | None],
        baseline: Mapping[str, float | None] | None,
        min_labeled: int = 0,
    ) -> Verdict:
        current = metrics.get(name)
        if current is None:
            return Verdict(None, f"{name}: no data yet")
        sides = [("candidate", metrics)]
        if self.relative and baseline is not None:
            sides.append(("baseline", baseline))
        for who, values in sides:
            short = _short_of(name, values, min_labeled)
            if short is not None:
                return Verdict(None, f"{name}: {short} of {min_labeled} labelled rows ({who})")
        limit = self.threshold(baseline.get(name) if baseline is not None else None)
        if limit is None:
            return Verdict(None, f"{name}: no baseline data yet")
        passed = OPERATORS[self.op](current, limit)
        return Verdict(passed, f"{name} = {current:.4g} (wants {self.op} {limit:.4g})")

    def spec(self) -> str:
        return self.text


def parse_condition(
    text: str, *, allow_baseline: bool = True, allow_hold: bool = False
) -> Condition:
    """Parse one condition; the message names the part that is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("a condition must be text such as 'error_rate<0.01'")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"condition longer than {MAX_TEXT} characters")
    match = _PATTERN.match(text)
    if match is None:
        raise InvalidInput(
            f"condition {text!r}: expected METRIC OP NUMBER"
            + (" or METRIC OP baseline[+-*]NUMBER" if allow_baseline else "")
            + (" [for PERIOD]" if allow_hold else "")
            + ", e.g. 'p95_ms<50' or 'accuracy[country=FR]<0.8'"
        )
    metric, bracket = match["metric"], match["bracket"]
    segment = None
    if bracket is not None and _names_segment(metric, bracket) and metric in METRICS:
        segment = _segment(text, bracket)
        if metric not in SEGMENT_METRICS:
            known = ", ".join(m for m in SEGMENT_METRICS if m in METRICS)
            raise InvalidInput(
                f"condition {text!r}: {metric} is not measured per segment; segments report {known}"
            )
    elif bracket is not None:  # one feature's share, one refusal rule, one class
        metric += bracket
    if metric not in METRICS and "[" not in metric:
        raise InvalidInput(
            f"condition {text!r}: unknown metric {metric!r}; known: {', '.join(METRICS)}"
        )
    if metric not in METRICS and (problem := keyed_metric_problem(metric)) is not None:
        raise InvalidInput(f"condition {text!r}: {problem}")
    relative = match["baseline"] is not None
    if relative and not allow_baseline:
        raise InvalidInput(f"condition {text!r}: 'baseline' is only meaningful in rollout checks")
    raw = match["offset"] if relative else match["value"]
    value = _number(text, raw) if raw is not None else (1.0 if match["sign"] == "*" else 0.0)
    if relative and match["sign"] is None:
        value = 0.0
    hold = timedelta(0)
    if match["for"] is not None:
        if not allow_hold:
            raise InvalidInput(f"condition {text!r}: 'for PERIOD' is only for policies")
        hold = parse_period(match["for"])
    return Condition(
        metric=metric,
        op=match["op"],
        value=value,
        relative=relative,
        sign=match["sign"] or "+",
        hold=hold,
        text=" ".join(text.split()),
        segment=segment,
    )


def labeled_key(name: str) -> str | None:
    """Where the labelled rows behind a quality metric are counted: ``labeled`` for the
    version, ``labeled[country=FR]`` for a segment, ``support[class=churn]`` for a class
    (its labelled rows); None for a metric that does not come from labels."""
    base, bracket, rest = name.partition("[")
    if base not in QUALITY_METRICS:
        return None
    if not bracket:
        return "labeled"
    return f"support[{rest}" if rest.startswith("class=") else f"labeled[{rest}"


def _short_of(name: str, metrics: Mapping[str, float | None], min_labeled: int) -> int | None:
    """The labelled rows behind ``name`` when fewer than ``min_labeled``, else None."""
    key = labeled_key(name) if min_labeled > 0 else None
    if key is None:
        return None
    labeled = int(metrics.get(key) or 0)
    return labeled if labeled < min_labeled else None


def _names_segment(metric: str, bracket: str) -> bool:
    """A bracket names a segment (``accuracy[country=FR]``) except on a data-quality share
    (``missing_share[age]``: a feature or a refusal rule) and ``[class=…]`` on a per-class
    metric (``recall[class=churn]``)."""
    if metric in SHARE_METRICS:
        return False
    return not (metric in CLASS_METRICS and (bracket.startswith("[class=") or "=" not in bracket))


def _segment(text: str, raw: str) -> tuple[str, str]:
    """``[country=FR]`` → (country, FR); ``[country=*]`` → (country, *)."""
    feature, equals, value = raw[1:-1].partition("=")
    feature, value = feature.strip(), value.strip()
    if not equals or not feature or not value or "=" in value or len(feature) > 128:
        shares = ", ".join(SHARE_METRICS)
        raise InvalidInput(
            f"condition {text!r}: a segment is written [FEATURE=VALUE] or [FEATURE=*], not {raw}"
            + ("" if equals else f"; only these metrics take brackets: {shares} ([NAME])")
        )
    return feature, value


def _number(text: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"condition {text!r}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidInput(f"condition {text!r}: the number must be finite")
    return value
