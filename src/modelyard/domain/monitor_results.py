"""What the monitor measured, as typed values: drift verdicts, live quality, and an
endpoint's summary per version and per shadow.

``monitoring/`` computes them; the CLI, the report, the controller's signals and the admin
API read their attributes. Each has one ``to_json()``: the HTTP API, ``--json`` and the
console read that JSON, so its keys and their order are a public format."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from modelyard.domain.estimates import Estimate
from modelyard.domain.histograms import Histogram
from modelyard.domain.monitoring import DriftConfig
from modelyard.domain.quality_signals import ClassReport, DataQuality

if TYPE_CHECKING:  # segment_results builds on this module's types
    from modelyard.domain.segment_results import SegmentMonitor

DRIFT = "drift"
NO_DRIFT = "no drift"
NOT_ENOUGH = "not enough data"
PERCENTILES = (50, 95, 99)
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("mae", "rmse", "r2")
QUALITY_METRICS = CLASSIFICATION_METRICS + REGRESSION_METRICS
ESTIMATED_METRICS = tuple(f"estimated_{m}" for m in (*CLASSIFICATION_METRICS, "mae", "rmse"))
_MEASURED = {"classification": CLASSIFICATION_METRICS, "regression": REGRESSION_METRICS}


# -- drift --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str  # numeric | categorical | text (judged on its lengths)
    reference_rows: int
    current_rows: int
    missing: int
    values: dict[str, float]  # every test's value (p-values end in _p_value)
    test: str  # the test that gave the verdict
    threshold: float
    verdict: str

    @property
    def drifted(self) -> bool:
        return self.verdict == DRIFT

    @property
    def score(self) -> float | None:
        return self.values.get(self.test)

    @property
    def severity(self) -> float:
        """Value ÷ threshold for effect sizes, threshold ÷ value for p-values: > 1 drifts."""
        score = self.score
        if score is None or self.threshold <= 0:
            return 0.0
        if self.test.endswith("p_value"):
            return self.threshold / max(score, 1e-300)
        return score / self.threshold

    def to_json(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "missing": self.missing,
            "values": self.values,
            "test": self.test,
            "threshold": self.threshold,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class DriftReport:
    """Every feature's verdict and the dataset's: drift when the share of drifted features
    (among those with enough rows to judge) reaches ``config.drift_share``."""

    features: list[FeatureDrift]
    output: FeatureDrift | None
    config: DriftConfig
    drift_share: float | None = field(init=False)
    verdict: str = field(init=False)

    def __post_init__(self) -> None:
        judged = [f for f in self.features if f.verdict != NOT_ENOUGH]
        share = sum(f.drifted for f in judged) / len(judged) if judged else None
        object.__setattr__(self, "drift_share", share)
        if share is None:
            verdict = NOT_ENOUGH
        else:
            verdict = DRIFT if share >= self.config.drift_share else NO_DRIFT
        object.__setattr__(self, "verdict", verdict)

    @property
    def drifted(self) -> bool:
        return self.verdict == DRIFT

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    def top(self, n: int = 5) -> list[FeatureDrift]:
        """The drifted features, most shifted first (how far past its threshold each is)."""
        drifted = [f for f in self.features if f.drifted]
        return sorted(drifted, key=lambda f: -f.severity)[:n]

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "drift_share": self.drift_share,
            "drift_share_threshold": self.config.drift_share,
            "drifted_features": self.drifted_features,
            "features": [f.to_json() for f in self.features],
            "output": self.output.to_json() if self.output else None,
        }


# -- quality, feedback, traffic -----------------------------------------------------------


@dataclass(frozen=True)
class Quality:
    """Metrics over predictions that got their ground truth. ``kind`` names the metrics
    measured (classification or regression; None: none, e.g. nothing labelled yet); a
    measured metric may still be None (ROC AUC without probabilities, R² of one row)."""

    labeled: int = 0
    kind: str | None = None
    accuracy: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    roc_auc: float | None = None
    mae: float | None = None
    rmse: float | None = None
    r2: float | None = None

    @property
    def measured(self) -> tuple[str, ...]:
        return _MEASURED.get(self.kind or "", ())

    def metric(self, name: str) -> float | None:
        return getattr(self, name) if name in self.measured else None

    def to_json(self) -> dict[str, float | int | None]:
        values: dict[str, float | int | None] = {"labeled": self.labeled}
        values.update((name, getattr(self, name)) for name in self.measured)
        return values


@dataclass(frozen=True)
class Feedback:
    """How much of the traffic has its ground truth, and how late it came."""

    logged: int
    labeled: int
    coverage: float | None
    lag_seconds_p50: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "logged": self.logged,
            "labeled": self.labeled,
            "coverage": self.coverage,
            "lag_seconds_p50": self.lag_seconds_p50,
        }


@dataclass(frozen=True)
class Latency:
    """Latency percentiles in milliseconds (None: nothing measured)."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None

    def to_json(self) -> dict[str, float | None]:
        return {"p50": self.p50, "p95": self.p95, "p99": self.p99}


@dataclass(frozen=True)
class Traffic:
    """Requests and rows answered, errors by HTTP status, and latency."""

    requests: int
    rows: int
    errors: Mapping[str, int]
    error_rate: float | None  # 5xx among all attempts
    client_error_rate: float | None  # 4xx among all attempts
    latency_ms: Latency

    @property
    def attempts(self) -> int:
        """Requests that reached the version, failed ones included."""
        return self.requests + sum(self.errors.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "rows": self.rows,
            "errors": dict(self.errors),
            "error_rate": self.error_rate,
            "client_error_rate": self.client_error_rate,
            "latency_ms": self.latency_ms.to_json(),
        }


# -- timelines ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreTest:
    """The statistic a timeline's drift scores hold for one feature kind, and its threshold."""

    test: str
    threshold: float

    def to_json(self) -> dict[str, Any]:
        return {"test": self.test, "threshold": self.threshold}


@dataclass(frozen=True)
class TimelinePoint:
    """One bucket: its traffic (None: only feedback fell in it), drift when the version
    has a reference profile (``drift_scores`` None: not computed) and quality."""

    bucket_start: datetime
    traffic: Traffic | None
    quality: Quality
    drift_share: float | None = None
    drift_scores: Mapping[str, float | None] | None = None
    estimated: Mapping[str, float | None] | None = None  # None: no holdout reference
    # the estimate's 95 % interval at this bucket's own rows: metric → (low, high) or None
    estimated_interval: Mapping[str, tuple[float, float] | None] | None = None
    estimated_rows: int | None = None  # the rows the bucket's estimate stands on
    data_quality: Mapping[str, float | None] | None = None  # the worst shares (headline)

    def to_json(self) -> dict[str, Any]:
        point: dict[str, Any] = {"bucket_start": self.bucket_start.isoformat()}
        if self.traffic is not None:
            point.update(self.traffic.to_json())
            if self.drift_scores is not None:
                point["drift_share"] = self.drift_share
                point["drift_scores"] = dict(self.drift_scores)
        point["quality"] = self.quality.to_json()
        if self.estimated is not None:
            point["estimated"] = dict(self.estimated)
            point["estimated_rows"] = self.estimated_rows
        if self.estimated_interval is not None:
            point["estimated_interval"] = {
                name: list(bounds) if bounds is not None else None
                for name, bounds in self.estimated_interval.items()
            }
        if self.data_quality is not None:
            point["data_quality"] = dict(self.data_quality)
        return point


@dataclass(frozen=True)
class Timeline:
    seconds: int  # one point's span (for rates)
    drift_tests: Mapping[str, ScoreTest]  # feature kind → the statistic its scores hold
    points: Sequence[TimelinePoint]


# -- per version, per shadow, per endpoint ------------------------------------------------


@dataclass(frozen=True)
class _Watched:
    """What versions and shadows share: traffic, drift against the reference profile
    (or why there is none), predicted classes and, when asked for, histograms."""

    version: str
    traffic: Traffic
    drift: DriftReport | None
    drift_unavailable: str | None  # why there is no drift, when there is none
    classes: Mapping[str, int]
    histograms: Mapping[str, Histogram] | None  # feature → its counts (None: not asked for)

    @property
    def requests(self) -> int:
        return self.traffic.requests

    @property
    def rows(self) -> int:
        return self.traffic.rows

    @property
    def latency_ms(self) -> Latency:
        return self.traffic.latency_ms

    @property
    def drift_share(self) -> float | None:
        return self.drift.drift_share if self.drift else None

    @property
    def top_drifted(self) -> list[str]:
        return [f.feature for f in self.drift.top()] if self.drift else []

    def _histograms_json(self) -> dict[str, Any]:
        return {name: h.to_json() for name, h in (self.histograms or {}).items()}

    def _drift_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "drift": self.drift.to_json() if self.drift else None,
            "drift_share": self.drift_share,
            "drift_unavailable": self.drift_unavailable,
            "top_drifted": self.top_drifted,
            "classes": dict(self.classes),
        }


@dataclass(frozen=True)
class VersionMonitor(_Watched):
    """One version's answers to callers over the period."""

    quality: Quality
    feedback: Feedback
    timeline: Timeline | None = None  # None: not asked for
    estimate: Estimate | None = None  # None: no labelled holdout at registration
    data_quality: DataQuality | None = None  # features empty: no reference profile
    per_class: ClassReport | None = None  # None: not a classifier, or nothing labelled
    segments: tuple[SegmentMonitor, ...] = ()  # worst first (domain/segment_results.py)

    @property
    def error_rate(self) -> float | None:
        return self.traffic.error_rate

    @property
    def client_error_rate(self) -> float | None:
        return self.traffic.client_error_rate

    def to_json(self) -> dict[str, Any]:
        result = self.traffic.to_json()
        result.update(self._drift_json())
        result["quality"] = self.quality.to_json()
        if self.estimate is not None:  # only versions registered with a labelled holdout
            result["estimated"] = self.estimate.to_json()
        result["feedback"] = self.feedback.to_json()
        result["data_quality"] = self.data_quality.to_json() if self.data_quality else None
        result["per_class"] = self.per_class.to_json() if self.per_class else None
        if self.segments:  # only endpoints monitored by segment
            result["segments"] = [s.to_json() for s in self.segments]
        if self.histograms is not None:
            result["histograms"] = self._histograms_json()
        if self.timeline is not None:
            result["timeline_seconds"] = self.timeline.seconds
            result["timeline_drift_tests"] = {
                kind: test.to_json() for kind, test in self.timeline.drift_tests.items()
            }
            result["timeline"] = [p.to_json() for p in self.timeline.points]
        return result


@dataclass(frozen=True)
class ShadowComparison:
    """A shadow's answers against those of one version that answered the same requests."""

    primary: str
    requests: int
    rows: int
    agreement_rate: float | None
    mean_abs_diff: float | None
    mean_proba_abs_diff: float | None
    errors: int
    error_rate: float | None
    skipped: int
    shadow_latency_ms: Latency
    primary_latency_ms: Latency

    def to_json(self) -> dict[str, Any]:
        return {
            "primary": self.primary,
            "requests": self.requests,
            "rows": self.rows,
            "agreement_rate": self.agreement_rate,
            "mean_abs_diff": self.mean_abs_diff,
            "mean_proba_abs_diff": self.mean_proba_abs_diff,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "skipped": self.skipped,
            "latency_ms": {
                "shadow": self.shadow_latency_ms.to_json(),
                "primary": self.primary_latency_ms.to_json(),
            },
        }


@dataclass(frozen=True)
class ShadowMonitor(_Watched):
    """A shadow's own traffic, latency, drift and outputs; no errors, quality or feedback
    (no caller got its answers), and how it compares with each version that answered."""

    compared: Sequence[ShadowComparison] = ()

    def to_json(self) -> dict[str, Any]:
        traffic = self.traffic
        result: dict[str, Any] = {
            "requests": traffic.requests,
            "rows": traffic.rows,
            "latency_ms": traffic.latency_ms.to_json(),
        }
        result.update(self._drift_json())
        if self.histograms is not None:
            result["histograms"] = self._histograms_json()
        result["compared"] = [c.to_json() for c in self.compared]
        return result


@dataclass(frozen=True)
class MonitorSummary:
    """An endpoint's monitor over [since, until): ``versions`` holds only answers callers
    got (busiest first), ``shadows`` the mirrored traffic, apart."""

    endpoint: str
    since: datetime
    until: datetime
    drift_config: DriftConfig
    versions: Sequence[VersionMonitor]
    shadows: Sequence[ShadowMonitor] = ()

    def version(self, ref: str | None) -> VersionMonitor | None:
        """``ref``'s figures (the busiest version's when None; None: no traffic)."""
        if ref is None:
            return self.versions[0] if self.versions else None
        return next((v for v in self.versions if v.version == ref), None)

    def to_json(self) -> dict[str, Any]:
        config = self.drift_config
        return {
            "endpoint": self.endpoint,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "drift_config": {
                "numeric_test": config.numeric_test,
                "categorical_test": config.categorical_test,
                "thresholds": dict(config.thresholds),
                "p_value": config.p_value,
                "large_rows": config.large_rows,
                "min_rows": config.min_rows,
                "drift_share": config.drift_share,
            },
            "versions": [v.to_json() for v in self.versions],
            "shadows": [s.to_json() for s in self.shadows],
        }
