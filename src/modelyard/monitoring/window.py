"""A monitor window: everything known about endpoint × version × time bucket, as counts.

Feature and output sketches in the reference profile's bins, the latency histogram, row,
request and error counts. Windows merge by addition, so the same code sums a replica's
flushes, several replicas and several buckets. A shadow's window also holds, per version
it was compared with, the comparison counts (:class:`ShadowStats`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from modelyard.monitoring.estimation import ScoreSketch, calibrate
from modelyard.monitoring.loss_estimation import LossSums
from modelyard.monitoring.sketch import (
    CategoryCounts,
    Counts,
    NumericCounts,
    counts_for,
    counts_from_json,
)

if TYPE_CHECKING:  # the runtime (and pandas through it) stays out of summaries of windows
    from modelyard.runtime.shadow import Comparison

# Latency bucket upper bounds (ms): geometric from 0.1 ms to 60 s, ~23% apart, so a
# percentile read from the histogram is within about 12% of the true value.
# Windows older than a day are folded into hourly ones (monitoring/compaction.py); readers
# look back one rollup so a period starting inside an old hour still finds it.
ROLLUP_SECONDS = 3600
LATENCY_EDGES_MS = np.geomspace(0.1, 60_000.0, 65)


def output_profile(profile: Mapping[str, Any], classification: bool) -> dict[str, Any] | None:
    """The profile the output sketch uses: the stored one, or an empty class table."""
    stored = profile.get("output")
    if stored is not None:
        return dict(stored)
    if classification:
        return {"type": "categorical", "count": 0, "missing": 0, "frequencies": {}}
    return None


def _latency_counts() -> np.ndarray:
    return np.zeros(LATENCY_EDGES_MS.size + 1, dtype=np.int64)


def _add_latencies(histogram: np.ndarray, milliseconds: np.ndarray) -> None:
    index = np.searchsorted(LATENCY_EDGES_MS, milliseconds, side="left")
    histogram += np.bincount(index, minlength=histogram.size)


def percentile(histogram: np.ndarray, q: float) -> float | None:
    """Latency percentile (ms) read from a histogram, interpolated in log space."""
    total = int(histogram.sum())
    if total == 0:
        return None
    target = q / 100 * total
    cumulative = np.cumsum(histogram)
    index = int(np.searchsorted(cumulative, target, side="left"))
    if index >= LATENCY_EDGES_MS.size:
        return float(LATENCY_EDGES_MS[-1])
    upper = float(LATENCY_EDGES_MS[index])
    lower = float(LATENCY_EDGES_MS[index - 1]) if index > 0 else upper / 1.23
    before = float(cumulative[index - 1]) if index > 0 else 0.0
    share = (target - before) / max(float(histogram[index]), 1.0)
    return float(np.exp(np.log(lower) + share * (np.log(upper) - np.log(lower))))


_STAT_FIELDS = (
    "requests",
    "rows",
    "agreements",
    "diff_rows",
    "abs_diff",
    "proba_rows",
    "proba_abs_diff",
    "errors",
    "skipped",
)


@dataclass
class ShadowStats:
    """A shadow against one answering version over the same requests: comparison counts,
    rows it failed on or skipped, and both sides' latency (so percentiles compare like
    with like)."""

    requests: int = 0  # mirrored requests, whatever became of them
    rows: int = 0  # rows compared
    agreements: int = 0
    diff_rows: int = 0
    abs_diff: float = 0.0
    proba_rows: int = 0
    proba_abs_diff: float = 0.0
    errors: int = 0  # rows
    skipped: int = 0  # rows
    latency: np.ndarray = field(default_factory=_latency_counts)  # the shadow's
    primary_latency: np.ndarray = field(default_factory=_latency_counts)

    def add(self, comparison: Comparison, shadow_ms: float, primary_ms: float) -> None:
        self.requests += 1
        self.rows += comparison.rows
        self.agreements += comparison.agreements
        self.diff_rows += comparison.diff_rows
        self.abs_diff += comparison.abs_diff
        self.proba_rows += comparison.proba_rows
        self.proba_abs_diff += comparison.proba_abs_diff
        _add_latencies(self.latency, np.array([shadow_ms]))
        _add_latencies(self.primary_latency, np.array([primary_ms]))

    def add_missed(self, rows: int, skipped: bool) -> None:
        self.requests += 1
        if skipped:
            self.skipped += rows
        else:
            self.errors += rows

    def merge(self, other: ShadowStats) -> None:
        for name in _STAT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.latency += other.latency
        self.primary_latency += other.primary_latency

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in _STAT_FIELDS}
        data["latency"] = self.latency.tolist()
        data["primary_latency"] = self.primary_latency.tolist()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShadowStats:
        stats = cls()
        for name in _STAT_FIELDS:
            kind = float if name.endswith("abs_diff") else int
            setattr(stats, name, kind(data.get(name, 0)))
        for name in ("latency", "primary_latency"):
            counts = np.asarray(data.get(name, []), dtype=np.int64)
            if counts.shape == stats.latency.shape:
                setattr(stats, name, counts)
        return stats


@dataclass
class Window:
    profile: Mapping[str, Any]
    output_spec: Mapping[str, Any] | None
    features: dict[str, Counts] = field(default_factory=dict)
    output: Counts | None = None
    latency: np.ndarray = field(default_factory=_latency_counts)
    rows: int = 0
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)  # 4xx by rule (refusal_rules.py)
    shadow: dict[str, ShadowStats] = field(default_factory=dict)  # answering version → stats
    scores: ScoreSketch | None = None  # calibrated probabilities (a holdout was given)
    losses: LossSums | None = None  # a regressor's estimated losses (a holdout was given)
    # segmenting feature → segment value → that segment's rows (monitoring/segments.py)
    segments: dict[str, dict[str, Window]] = field(default_factory=dict)

    @classmethod
    def empty(
        cls,
        profile: Mapping[str, Any],
        output_spec: Mapping[str, Any] | None,
        keep_values: bool = False,
    ) -> Window:
        """``keep_values``: remember unseen input categories by name (only when the
        endpoint samples raw inputs anyway; otherwise they are counted, not kept)."""
        features = {
            name: counts_for(spec, keep_values)
            for name, spec in profile.get("features", {}).items()
        }
        output = counts_for(output_spec) if output_spec is not None else None
        return cls(
            profile,
            output_spec,
            features,
            output,
            scores=_empty_scores(profile),
            losses=_empty_losses(profile),
        )

    def add_latencies(self, milliseconds: np.ndarray) -> None:
        _add_latencies(self.latency, milliseconds)

    def compared_with(self, primary: str) -> ShadowStats:
        """This shadow's counts against the answering version ``primary``."""
        stats = self.shadow.get(primary)
        if stats is None:
            stats = self.shadow[primary] = ShadowStats()
        return stats

    def add_error(self, status: int, count: int = 1, rule: str | None = None) -> None:
        key = str(status)
        self.errors[key] = self.errors.get(key, 0) + count
        if rule is not None:
            self.refused[rule] = self.refused.get(rule, 0) + count

    def merge(self, other: Window) -> None:
        for name, sketch in other.features.items():
            mine = self.features.get(name)
            if mine is None:
                continue
            mine.merge(sketch)  # type: ignore[arg-type]
        if self.output is not None and other.output is not None:
            self.output.merge(other.output)  # type: ignore[arg-type]
        self.latency += other.latency
        self.rows += other.rows
        self.requests += other.requests
        for status, count in other.errors.items():
            self.add_error(int(status), count)
        for rule, count in other.refused.items():
            self.refused[rule] = self.refused.get(rule, 0) + count
        for primary, stats in other.shadow.items():
            self.compared_with(primary).merge(stats)
        if self.scores is not None and other.scores is not None:
            self.scores.merge(other.scores)
        if self.losses is not None and other.losses is not None:
            self.losses.merge(other.losses)
        for feature, parts in other.segments.items():
            own = self.segments.setdefault(feature, {})
            for value, part in parts.items():
                if value not in own:
                    own[value] = Window.empty(self.profile, self.output_spec)
                own[value].merge(part)

    def percentile(self, q: float) -> float | None:
        """Latency percentile (ms) read from the histogram, interpolated in log space."""
        return percentile(self.latency, q)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def count_errors(self, first_digit: str) -> int:
        return sum(n for status, n in self.errors.items() if status.startswith(first_digit))

    def class_counts(self) -> dict[str, int]:
        if isinstance(self.output, CategoryCounts):
            counts = dict(self.output.counts)
            counts.update(self.output.unseen_values)
            return counts
        return {}

    def to_json(self) -> dict[str, Any]:
        data = {
            "rows": self.rows,
            "requests": self.requests,
            "errors": dict(self.errors),
            "latency": self.latency.tolist(),
            "features": {name: sketch.to_json() for name, sketch in self.features.items()},
            "output": self.output.to_json() if self.output is not None else None,
        }
        if self.refused:  # windows without refusals stay exactly as they were
            data["refused"] = dict(self.refused)
        if self.shadow:  # answering versions' windows stay exactly as they were
            data["shadow"] = {primary: s.to_json() for primary, s in self.shadow.items()}
        if self.scores is not None:
            data["scores"] = self.scores.to_json()
        if self.losses is not None:
            data["losses"] = self.losses.to_json()
        if self.segments:
            data["segments"] = {
                f: {v: part.to_json() for v, part in parts.items()}
                for f, parts in self.segments.items()
            }
        return data

    @classmethod
    def from_json(
        cls,
        profile: Mapping[str, Any],
        output_spec: Mapping[str, Any] | None,
        data: Mapping[str, Any],
    ) -> Window:
        specs = profile.get("features", {})
        stored = data.get("features", {})
        # Each sketch is built once, from what was stored or empty (windows are read by
        # the thousand for a week's summary).
        features = {
            name: counts_from_json(spec, stored[name])
            if name in stored
            else counts_for(spec, keep_values=False)
            for name, spec in specs.items()
        }
        output = None
        if output_spec is not None:
            saved = data.get("output")
            output = (
                counts_from_json(output_spec, saved)
                if saved is not None
                else counts_for(output_spec)
            )
        window = cls(
            profile,
            output_spec,
            features,
            output,
            scores=_empty_scores(profile),
            losses=_empty_losses(profile),
        )
        if window.losses is not None and data.get("losses") is not None:
            window.losses = LossSums.from_json(data["losses"])
        stored_scores = data.get("scores")
        if window.scores is not None and stored_scores is not None:
            # a sketch that no longer fits the reference's classes is left out
            with contextlib.suppress(ValueError, KeyError):
                window.scores = ScoreSketch.from_json(window.scores.count.shape[0], stored_scores)
        window.rows, window.requests = int(data["rows"]), int(data["requests"])
        window.errors = {str(k): int(v) for k, v in data["errors"].items()}
        window.refused = {str(k): int(v) for k, v in (data.get("refused") or {}).items()}
        latency = np.asarray(data["latency"], dtype=np.int64)
        if latency.shape == window.latency.shape:
            window.latency = latency
        for primary, stats in (data.get("shadow") or {}).items():
            window.shadow[str(primary)] = ShadowStats.from_json(stats)
        for feature, parts in (data.get("segments") or {}).items():
            window.segments[str(feature)] = {
                str(v): cls.from_json(profile, output_spec, part) for v, part in parts.items()
            }
        return window


def with_arrays(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile with each numeric feature's bin edges as an array (sketches share it)."""
    features = {
        name: {**spec, "edges": np.asarray(spec["edges"], dtype=float)}
        if spec.get("type") in ("numeric", "text")
        else spec
        for name, spec in profile.get("features", {}).items()
    }
    return {**profile, "features": features}


def _empty_scores(profile: Mapping[str, Any]) -> ScoreSketch | None:
    estimation = profile.get("estimation")
    if not estimation or estimation.get("kind") != "classification":
        return None
    return ScoreSketch.empty(len(estimation["classes"]))


def _empty_losses(profile: Mapping[str, Any]) -> LossSums | None:
    estimation = profile.get("estimation")
    return LossSums() if estimation and estimation.get("kind") == "regression" else None


def add_scores(window: Window, probabilities: np.ndarray) -> None:
    """Count the rows' probabilities, calibrated as the reference says."""
    if window.scores is None or probabilities.ndim != 2:
        return
    estimation = window.profile["estimation"]
    window.scores.add(calibrate(probabilities, estimation.get("calibration")))


def add_output(window: Window, predictions: np.ndarray) -> None:
    if isinstance(window.output, NumericCounts):
        if predictions.ndim == 1:
            window.output.add(predictions.astype(float, copy=False))
    elif isinstance(window.output, CategoryCounts) and predictions.ndim == 1:
        labels, counts = np.unique(predictions, return_counts=True)
        for label, count in zip(labels.tolist(), counts.tolist(), strict=True):
            window.output.add_count(str(label), int(count))
