"""Monitor windows per segment: which segment each row is in, and its sub-window.

A window's ``segments`` hold, per segmenting feature and per segment value, a whole
:class:`~modelyard.monitoring.window.Window` of that segment's rows: its counts, feature
and output sketches (drift), calibrated scores or estimated losses (performance estimated
without labels). They merge by addition with the window, so replicas and buckets sum.
Quality from feedback needs each logged row's segments, so they are written with the
prediction log (``segments`` column, JSON text) and read back with its labels.

Segments are bounded per feature whatever the traffic (domain/segments.py): the ``top``
most frequent reference categories, ``other`` and ``missing``; or a numeric feature's
reference quartiles ``q1`` … ``q4`` and ``missing``. A feature the version's reference
profile does not know (or a text feature) splits nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from modelyard.domain.segments import MISSING, OTHER, QUARTILES, SegmentSpec
from modelyard.monitoring.window import Window, add_output, add_scores

if TYPE_CHECKING:  # summaries read segments without the runtime (and pandas through it)
    from modelyard.monitoring.stacked import Stacked
    from modelyard.runtime.events import PredictionEvent
    from modelyard.runtime.inputs import Columns

log = logging.getLogger(__name__)


class Segmenter:
    """Labels rows by segment for one version (built once per version and spec)."""

    def __init__(self, spec: SegmentSpec, profile: Mapping[str, Any]) -> None:
        self.spec = spec
        self.top: dict[str, frozenset[str]] = {}
        self.cuts: dict[str, np.ndarray] = {}
        features = profile.get("features", {})
        for name in spec.features:
            reference = features.get(name)
            if reference is None:
                continue
            if reference.get("type") == "categorical":
                frequencies = reference.get("frequencies", {})
                ranked = sorted(frequencies, key=lambda c: -int(frequencies[c]))
                self.top[name] = frozenset(ranked[: spec.top])
            elif reference.get("type") == "numeric":
                self.cuts[name] = quartile_cuts(reference)

    @property
    def features(self) -> list[str]:
        return [n for n in self.spec.features if n in self.top or n in self.cuts]

    def labels(self, columns: Columns) -> dict[str, np.ndarray]:
        """Per segmenting feature: each row's segment (object array); a request without
        the feature's column is ``missing`` there, so the segments add up to every row."""
        found: dict[str, np.ndarray] = {}
        for name in self.features:
            if name not in columns.names:
                found[name] = np.full(columns.rows, MISSING, dtype=object)
                continue
            values = columns.column(name)
            if name in self.cuts:
                found[name] = _numeric_labels(values, self.cuts[name])
            else:
                found[name] = _categorical_labels(values, self.top[name])
        return found


def quartile_cuts(reference: Mapping[str, Any]) -> np.ndarray:
    """The reference's 25th, 50th and 75th percentiles, read from its quantile bins."""
    edges = np.asarray(reference.get("edges", []), dtype=float)
    counts = np.asarray(reference.get("counts", []), dtype=float)
    if edges.size < 2 or counts.sum() <= 0:
        return np.array([], dtype=float)
    cumulative = np.cumsum(counts) / counts.sum()
    index = np.searchsorted(cumulative, [0.25, 0.5, 0.75], side="left")
    return np.asarray(edges[np.minimum(index + 1, edges.size - 1)], dtype=float)


def _numeric_labels(values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    numbers = np.asarray(values, dtype=float)
    labels = np.asarray(QUARTILES, dtype=object)[
        np.minimum(np.searchsorted(cuts, numbers, side="right"), len(QUARTILES) - 1)
    ]
    labels[~np.isfinite(numbers)] = MISSING
    return labels


def _categorical_labels(values: np.ndarray, top: frozenset[str]) -> np.ndarray:
    seen: dict[Any, str] = {}
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values.tolist() if isinstance(values, np.ndarray) else values):
        label = seen.get(value)
        if label is None:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                label = MISSING
            else:
                text = str(value)
                label = text if text in top else OTHER
            if not (isinstance(value, float) and math.isnan(value)):  # NaN: never found again
                seen[value] = label
        out[i] = label
    return out


def count_segments(
    window: Window,
    segmenter: Segmenter,
    columns: Columns,
    predictions: np.ndarray | None,
    probabilities: np.ndarray | None,
    latencies: np.ndarray,
    request_of_row: np.ndarray,
    losses: np.ndarray | None = None,
) -> list[str | None]:
    """Count a group's rows into ``window``'s segment windows; returns each row's segments
    as JSON text for the prediction log (``None`` for rows in no segment)."""
    labels = segmenter.labels(columns)
    for feature, row_labels in labels.items():
        parts = window.segments.setdefault(feature, {})
        for value in np.unique(row_labels).tolist():
            mask = row_labels == value
            part = parts.get(value)
            if part is None:
                part = parts[value] = Window.empty(window.profile, window.output_spec)
            _count_rows(part, columns, mask, predictions, probabilities, losses)
            requests = np.unique(request_of_row[mask])
            part.add_latencies(latencies[requests])
            part.requests += int(requests.size)
    if not labels:
        return [None] * columns.rows
    names = list(labels)
    texts: dict[tuple[str, ...], str] = {}  # few distinct combinations: encode each once
    found: list[str | None] = []
    for row in zip(*(labels[n].tolist() for n in names), strict=True):
        text = texts.get(row)
        if text is None:
            text = texts[row] = orjson.dumps(dict(zip(names, row, strict=True))).decode()
        found.append(text)
    return found


def _count_rows(
    part: Window,
    columns: Columns,
    mask: np.ndarray,
    predictions: np.ndarray | None,
    probabilities: np.ndarray | None,
    losses: np.ndarray | None,
) -> None:
    """Each step on its own, as the window's count (monitoring/recorder.py): one that fails
    costs only itself, and every segment still gets its rows."""
    for name, sketch in part.features.items():
        if name in columns.names:
            try:
                sketch.add(columns.column(name)[mask])
            except Exception:  # one odd column must not cost the others
                log.exception("could not count feature %r into a segment's sketch", name)
    rows = mask.size
    try:
        if predictions is not None and predictions.shape[0] == rows:
            add_output(part, predictions[mask])
    except Exception:  # answers of odd types: the rest still counts
        log.exception("could not count the outputs of a segment")
    try:
        if probabilities is not None and probabilities.shape[0] == rows:
            add_scores(part, probabilities[mask])
    except Exception:  # odd shapes: the estimate skips them, the rest still counts
        log.exception("could not count the probabilities of a segment")
    if losses is not None and part.losses is not None and losses.shape[0] == rows:
        part.losses.add(losses[mask])
    part.rows += int(mask.sum())


def row_segments(texts: Sequence[str | None]) -> list[dict[str, str]]:
    """The logged segments of labelled rows (``{}`` for rows logged without any)."""
    found: list[dict[str, str]] = []
    for text in texts:
        try:
            value = orjson.loads(text) if text else {}
        except orjson.JSONDecodeError:
            value = {}
        found.append(value if isinstance(value, dict) else {})
    return found


def count_group(
    window: Window, segmenter: Segmenter, batch: Stacked, losses: np.ndarray | None
) -> list[str | None]:
    """:func:`count_segments` for the requests of one recorder group (one endpoint ×
    version × bucket), stacked once for every count (monitoring/stacked.py); ``losses``:
    the nanny model's per-row estimates, when it ran."""
    return count_segments(
        window,
        segmenter,
        batch.columns,
        batch.predictions,
        batch.probabilities,
        batch.latencies,
        batch.request_of_row,
        losses,
    )


class Segmenters:
    """The recorder's labellers, one per version and segment spec."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, SegmentSpec], Segmenter] = {}

    def count(
        self,
        ref: str,
        window: Window,
        events: list[PredictionEvent],
        batch: Stacked,
        losses: np.ndarray | None,
    ) -> list[str | None] | None:
        """Count a group's rows into their segments' windows (nothing without a spec or a
        reference profile); each row's segments as JSON text for the log."""
        spec = events[0].segments
        if not spec or not window.profile:
            return None
        segmenter = self._known.get((ref, spec))
        if segmenter is None:
            segmenter = self._known[(ref, spec)] = Segmenter(spec, window.profile)
        try:
            return count_group(window, segmenter, batch, losses)
        except Exception:  # odd values: the segments skip this batch, the rest counts
            log.exception("could not count the segments of %s", ref)
            return None

    def forget(self, live: set[str]) -> None:
        for key in [k for k in self._known if k[0] not in live]:
            del self._known[key]
