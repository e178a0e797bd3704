"""What an endpoint's monitor says for a period: per version traffic, latency, errors,
drift against the version's reference profile, quality from feedback, and the same per
time bucket. Read by ``monitor status``, the report, the admin API and the gauges.

Shadows are summarised apart, under ``shadows``: ``versions`` holds only answers callers
got, so nothing that adds up an endpoint's traffic or errors counts mirrored rows."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from modelyard.domain.endpoints import Endpoint, shadowed_ref
from modelyard.domain.entities import ModelVersion
from modelyard.domain.histograms import CategoricalHistogram, Histogram, NumericHistogram
from modelyard.domain.monitor_results import (
    PERCENTILES,
    Feedback,
    Latency,
    MonitorSummary,
    Quality,
    ScoreTest,
    ShadowComparison,
    ShadowMonitor,
    Timeline,
    TimelinePoint,
    Traffic,
    VersionMonitor,
)
from modelyard.domain.monitoring import NO_REFERENCE, DriftConfig
from modelyard.monitoring.class_metrics import class_report
from modelyard.monitoring.data_quality import data_quality
from modelyard.monitoring.drift import VALUE_OF_TEST, compare
from modelyard.monitoring.estimation import estimate, estimated
from modelyard.monitoring.loss_estimation import estimated_losses
from modelyard.monitoring.quality import quality
from modelyard.monitoring.segment_summary import segment_monitors
from modelyard.monitoring.sketch import CategoryCounts, NumericCounts
from modelyard.monitoring.window import (
    ROLLUP_SECONDS,
    ShadowStats,
    Window,
    output_profile,
    percentile,
    with_arrays,
)
from modelyard.store.predictions import LabeledPrediction, PredictionLog
from modelyard.store.schema import utcnow
from modelyard.store.windows import StoredWindow, WindowStore

MAX_POINTS = 200  # timeline points per version, whatever the period


class Source(Protocol):
    """What the summary reads (the monitor service, ``modelyard.services.monitor``, provides
    it)."""

    @property
    def windows(self) -> WindowStore: ...

    @property
    def predictions(self) -> PredictionLog: ...

    def get_endpoint(self, name: str) -> Endpoint: ...

    def get_version(self, ref: str, version: int | None = None) -> ModelVersion: ...

    def monitor_profile(self, ref: str) -> tuple[dict[str, Any], bool]: ...


def summarize(
    source: Source,
    endpoint: str,
    since: datetime,
    until: datetime,
    *,
    max_labeled: int = 100_000,
    histograms: bool = False,
    timeline: bool = True,
    bucket_seconds: int = 300,
) -> MonitorSummary:
    """The monitor of ``endpoint`` over the windows that overlap [since, until)
    (``bucket_seconds``: the longest bucket to look back for)."""
    config = source.get_endpoint(endpoint).monitoring.drift
    lookback = timedelta(seconds=max(bucket_seconds, ROLLUP_SECONDS))  # old hours: rollups
    stored = [
        w
        for w in source.windows.read(endpoint, since - lookback, until)
        if w.bucket_start + timedelta(seconds=w.bucket_seconds) > since
    ]
    labeled = source.predictions.labeled(endpoint, since, until, max_labeled)
    by_version: dict[str, list[StoredWindow]] = defaultdict(list)
    by_shadow: dict[str, list[StoredWindow]] = defaultdict(list)
    for window in stored:
        shadow = shadowed_ref(window.version)
        if shadow is None:
            by_version[window.version].append(window)
        else:
            by_shadow[shadow].append(window)
    labels: dict[str, list[LabeledPrediction]] = defaultdict(list)
    for row in labeled:
        labels[row.version].append(row)
    versions = [
        _version(
            source,
            ref,
            by_version.get(ref, []),
            labels.get(ref, []),
            config,
            histograms=histograms,
            timeline=timeline,
        )
        for ref in sorted(set(by_version) | set(labels))
    ]
    versions.sort(key=lambda v: -v.requests)
    shadows = [
        _shadow(source, ref, windows, config, histograms=histograms)
        for ref, windows in sorted(by_shadow.items())
    ]
    return MonitorSummary(endpoint, since, until, config, tuple(versions), tuple(shadows))


def summarize_recent(
    source: Source,
    endpoint: str,
    period: timedelta,
    *,
    max_labeled: int = 100_000,
    histograms: bool = False,
    timeline: bool = True,
    bucket_seconds: int = 300,
) -> MonitorSummary:
    """The monitor over the last ``period`` (the current bucket included)."""
    now = utcnow()
    return summarize(
        source,
        endpoint,
        now - period,
        now + timedelta(seconds=1),
        max_labeled=max_labeled,
        histograms=histograms,
        timeline=timeline,
        bucket_seconds=bucket_seconds,
    )


def _version(
    source: Source,
    ref: str,
    stored: list[StoredWindow],
    labeled: list[LabeledPrediction],
    config: DriftConfig,
    *,
    histograms: bool,
    timeline: bool,
) -> VersionMonitor:
    without = NO_REFERENCE  # why there is no drift, when there is none
    try:
        profile, classification = source.monitor_profile(ref)
        output = source.get_version(ref).signature.get("output", {})
        kind, classes = output.get("kind", "other"), output.get("classes")
    except Exception:  # the version was deleted since: its traffic still shows
        profile, classification, kind, classes = {}, False, "other", None
        without = "the version was deleted: no reference profile to compare with"
    output_spec = output_profile(profile, classification)
    bins = with_arrays(profile)  # edges as arrays once, not once per stored window
    merged = Window.empty(bins, output_spec)
    buckets: dict[datetime, Window] = {}
    seconds = {w.bucket_seconds for w in stored}
    step = _timeline_step(stored)
    for window in stored:
        part = Window.from_json(bins, output_spec, window.sketch)
        if not timeline:
            merged.merge(part)
            continue
        start = _align(window.bucket_start, step)
        bucket = buckets.get(start)
        if bucket is None:
            buckets[start] = part
        else:
            bucket.merge(part)
    for bucket in buckets.values():  # each window merged once, into its point
        merged.merge(bucket)
    drift = compare(profile, merged.features, merged.output, config) if profile else None
    points = None
    if timeline:
        span = max(step, *seconds, 1)  # one point's span (rates)
        points = Timeline(
            span,
            timeline_drift_tests(config),
            _timeline(profile, buckets, labeled, kind, classes, config, span),
        )
    realized = quality(labeled, kind, classes)
    return VersionMonitor(
        version=ref,
        traffic=_traffic(merged),
        drift=drift,
        drift_unavailable=None if drift else without,
        classes=merged.class_counts(),
        histograms=_histograms(profile, merged) if histograms else None,
        quality=realized,
        # Rows counted by the sketches stand for the rows logged: counting the log itself
        # would scan millions of rows on every gauge refresh.
        feedback=_feedback(labeled, merged.rows),
        timeline=points,
        estimate=estimated(profile.get("estimation") or {}, merged.scores, realized)
        or estimated_losses(profile.get("estimation") or {}, merged.losses, realized),
        data_quality=data_quality(profile, merged),  # refusals even without a profile
        per_class=class_report(labeled, kind, classes),
        segments=segment_monitors(profile, merged, labeled, kind, classes, config),
    )


def _shadow(
    source: Source,
    ref: str,
    stored: list[StoredWindow],
    config: DriftConfig,
    *,
    histograms: bool,
) -> ShadowMonitor:
    """A shadow's own traffic, latency, drift and outputs (no quality: no caller got its
    answers, so no feedback is about them), and how it compares with each version that
    answered the requests it was sent."""
    own = _version(source, ref, stored, [], config, histograms=histograms, timeline=False)
    merged: dict[str, ShadowStats] = defaultdict(ShadowStats)
    for window in stored:
        for primary, stats in (window.sketch.get("shadow") or {}).items():
            merged[primary].merge(ShadowStats.from_json(stats))
    return ShadowMonitor(
        version=ref,
        traffic=own.traffic,
        drift=own.drift,
        drift_unavailable=own.drift_unavailable,
        classes=own.classes,
        histograms=own.histograms,
        compared=tuple(compared(primary, s) for primary, s in sorted(merged.items())),
    )


def compared(primary: str, stats: ShadowStats) -> ShadowComparison:
    """Means and rates from a shadow's comparison counts against ``primary``."""
    attempted = stats.rows + stats.errors
    return ShadowComparison(
        primary=primary,
        requests=stats.requests,
        rows=stats.rows,
        agreement_rate=stats.agreements / stats.rows if stats.rows else None,
        mean_abs_diff=stats.abs_diff / stats.diff_rows if stats.diff_rows else None,
        mean_proba_abs_diff=(stats.proba_abs_diff / stats.proba_rows if stats.proba_rows else None),
        errors=stats.errors,
        error_rate=stats.errors / attempted if attempted else None,
        skipped=stats.skipped,
        shadow_latency_ms=_latency(lambda q: percentile(stats.latency, q)),
        primary_latency_ms=_latency(lambda q: percentile(stats.primary_latency, q)),
    )


def _timeline_step(stored: list[StoredWindow]) -> int:
    """Seconds per timeline point: the bucket length, or whole multiples of it so a long
    period gives at most MAX_POINTS points (and as many drift computations)."""
    if not stored:
        return 0
    seconds = max(w.bucket_seconds for w in stored)
    first = min(w.bucket_start for w in stored)
    last = max(w.bucket_start for w in stored)
    buckets = int((last - first).total_seconds() // seconds) + 1
    return seconds * max(1, -(-buckets // MAX_POINTS))


def _align(start: datetime, step: int) -> datetime:
    stamp = start.timestamp()
    return datetime.fromtimestamp(stamp - stamp % step, start.tzinfo) if step else start


def _latency(at: Callable[[int], float | None]) -> Latency:
    p50, p95, p99 = (at(q) for q in PERCENTILES)
    return Latency(p50, p95, p99)


def _traffic(window: Window) -> Traffic:
    total = window.requests + window.error_count
    return Traffic(
        requests=window.requests,
        rows=window.rows,
        errors=dict(sorted(window.errors.items())),
        error_rate=window.count_errors("5") / total if total else None,
        client_error_rate=window.count_errors("4") / total if total else None,
        latency_ms=_latency(window.percentile),
    )


def _feedback(labeled: list[LabeledPrediction], predicted: int) -> Feedback:
    lags = [(r.received_at - r.created_at).total_seconds() for r in labeled]
    return Feedback(
        logged=predicted,
        labeled=len(labeled),
        coverage=min(len(labeled) / predicted, 1.0) if predicted else None,
        lag_seconds_p50=statistics.median(lags) if lags else None,
    )


def _timeline(
    profile: dict[str, Any],
    buckets: dict[datetime, Window],
    labeled: Sequence[LabeledPrediction],
    kind: str,
    classes: Sequence[Any] | None,
    config: DriftConfig,
    bucket_seconds: int,
) -> tuple[TimelinePoint, ...]:
    labels: dict[datetime, list[LabeledPrediction]] = defaultdict(list)
    for row in labeled:
        stamp = row.created_at.timestamp()
        start = datetime.fromtimestamp(stamp - stamp % bucket_seconds, row.created_at.tzinfo)
        labels[start].append(row)
    timeline_tests = timeline_drift_tests(config)
    numeric = timeline_tests["numeric"]  # text drifts in its lengths, judged as numbers
    points = []
    for start in sorted(set(buckets) | set(labels)):
        window = buckets.get(start)
        scores: dict[str, float | None] | None = None
        share: float | None = None
        if window is not None and profile:
            drift = compare(profile, window.features, window.output, config, brief=True)
            share = drift.drift_share
            # One statistic per kind at every point: the test deciding each bucket
            # changes with its row count, and p-values shrink as rows grow.
            scores = {
                f.feature: f.values.get(timeline_tests.get(f.kind, numeric).test)
                for f in drift.features
            }
        points.append(
            TimelinePoint(
                bucket_start=start,
                traffic=_traffic(window) if window is not None else None,
                quality=quality(labels.get(start, []), kind, classes),
                drift_share=share,
                drift_scores=scores,
                **_point_estimate(profile.get("estimation") or {}, window),
                data_quality=data_quality(profile, window).headline()
                if window is not None and profile
                else None,
            )
        )
    return tuple(points)


def _point_estimate(reference: dict[str, Any], window: Window | None) -> dict[str, Any]:
    """A bucket's estimate and, with a holdout reference, its interval at the bucket's own
    rows (the rule the period's estimate follows, so the chart draws it as computed)."""
    if window is None or (window.scores is None and window.losses is None):
        return {}
    if window.scores is not None:
        values, rows = estimate(window.scores), window.scores.rows
    else:
        assert window.losses is not None
        values, rows = window.losses.values(), window.losses.rows
    found = estimated(reference, window.scores, Quality()) or estimated_losses(
        reference, window.losses, Quality()
    )
    bounds = (
        {
            name: (m.low, m.high) if m.low is not None and m.high is not None else None
            for name, m in found.metrics.items()
        }
        if found is not None
        else None
    )
    return {"estimated": values, "estimated_rows": rows, "estimated_interval": bounds}


def timeline_drift_tests(config: DriftConfig) -> dict[str, ScoreTest]:
    """The statistic a timeline's ``drift_scores`` hold per feature kind, and its threshold
    (the configured test: what decides once a window holds enough rows)."""
    tests = {}
    for kind, configured in (
        ("numeric", config.numeric_test),
        ("categorical", config.categorical_test),
    ):
        test = VALUE_OF_TEST.get(configured, configured)
        threshold = config.p_value if test.endswith("p_value") else config.threshold(test)
        tests[kind] = ScoreTest(test, threshold)
    return tests


def _histograms(profile: dict[str, Any], window: Window) -> dict[str, Histogram]:
    """Reference and current counts per feature, in the reference's bins (for charts)."""
    charts: dict[str, Histogram] = {}
    for name, sketch in window.features.items():
        spec = profile["features"][name]
        if isinstance(sketch, NumericCounts):
            charts[name] = NumericHistogram(
                edges=tuple(spec["edges"]),
                reference=tuple(spec["counts"]),
                current=tuple(sketch.counts.tolist()),
                below=sketch.low,
                above=sketch.high,
                missing=sketch.missing,
            )
        elif isinstance(sketch, CategoryCounts):
            categories = tuple(spec["frequencies"])
            charts[name] = CategoricalHistogram(
                categories=categories,
                reference=tuple(spec["frequencies"][c] for c in categories),
                current=tuple(sketch.counts.get(c, 0) for c in categories),
                unseen=sketch.unseen,
                unseen_values=dict(sketch.unseen_values),
                missing=sketch.missing,
            )
    return charts
