"""Drift between two tables of any size (``modelyard drift``), streamed batch by batch.

The reference is profiled in one pass: numeric columns keep their finite values up to
``sample`` per column (exact quantile edges, the same profile as ``drift_frames`` when the
column fits; beyond that a uniform sample fixes the edges and a second pass counts every
row into them), categorical columns keep a count per category. The current table is then
counted into the reference's bins straight from each batch's Arrow arrays — memory holds a
batch and the sketches, never the table. A stored profile (a registered version's or a
dataset version's) replaces the reference pass. Columns of a batch are binned on a small
thread pool: numpy's sort and pyarrow's kernels release the interpreter lock.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelyard.domain.monitor_results import DriftReport
from modelyard.domain.monitoring import DriftConfig
from modelyard.errors import InvalidInput
from modelyard.monitoring.drift import compare, exact_numeric
from modelyard.monitoring.profile import numeric_profile_sorted
from modelyard.monitoring.sketch import (
    Counts,
    NumericCounts,
    TextLengths,
    counts_for,
    quantile_edges,
)
from modelyard.monitoring.tables import BATCH_ROWS, Table

SAMPLE_VALUES = 2_000_000  # values per numeric column kept for exact quantiles (16 MB)
NUMERIC, CATEGORICAL, TEXT = "numeric", "categorical", "text"
KINDS = (NUMERIC, CATEGORICAL, TEXT)


def kind_of(dtype: pa.DataType) -> str:
    """Numbers are numeric (booleans are not: they are two categories), all else categorical."""
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_null(dtype):
        return NUMERIC
    return CATEGORICAL


def floats(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A numeric column as float64 with NaN for missing, a view of the Arrow buffer when it
    is float64 without nulls (read from the buffers: ``Array.to_numpy`` and ``fill_null``
    with a Python float import pandas)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_float64(array.type):
        array = pc.cast(array, pa.float64())
    validity, data = array.buffers()[:2]
    if data is None:  # a column of nulls only
        return np.full(len(array), math.nan)
    start, stop = array.offset, array.offset + len(array)
    values = np.frombuffer(data, dtype=np.float64, count=stop)[start:]
    if array.null_count and validity is not None:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        values = np.where(bits[start:stop].view(bool), values, math.nan)
    return values


def category_counts(array: pa.Array) -> tuple[dict[str, int], int]:
    """Counts per category as text (as ``str`` of the value, like pandas' profile) and the
    missing count."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    counted = pc.value_counts(array)
    values = counted.field("values")
    counts = counted.field("counts")
    out: dict[str, int] = {}
    for value, count in zip(values.to_pylist(), counts.to_pylist(), strict=True):
        if value is None:
            continue
        key = value if isinstance(value, str) else str(value)
        out[key] = out.get(key, 0) + int(count)
    return out, int(array.null_count)


@dataclass
class Sample:
    """A numeric column's finite values: all of them up to ``limit``, then a uniform sample
    (each value's random key; the ``limit`` smallest keys are kept)."""

    limit: int
    parts: list[np.ndarray] = field(default_factory=list)
    kept: int = 0
    seen: int = 0
    missing: int = 0
    low: float = math.inf
    high: float = -math.inf
    keys: np.ndarray | None = None
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    @property
    def whole(self) -> bool:
        return self.seen <= self.limit

    def add(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)]
        self.missing += int(values.size - finite.size)
        if finite.size == 0:
            return
        self.seen += int(finite.size)
        self.low = min(self.low, float(finite.min()))
        self.high = max(self.high, float(finite.max()))
        if self.keys is None and self.seen <= self.limit:
            self.parts.append(finite)
            self.kept += int(finite.size)
            return
        self._thin(finite)

    def _thin(self, finite: np.ndarray) -> None:
        held = np.concatenate([*self.parts, finite])
        if self.keys is None:
            self.keys = self.rng.random(held.size - finite.size)
        keys = np.concatenate([self.keys, self.rng.random(finite.size)])
        if held.size > self.limit:
            chosen = np.argpartition(keys, self.limit)[: self.limit]
            held, keys = held[chosen], keys[chosen]
        self.parts, self.keys, self.kept = [held], keys, int(held.size)

    def sorted(self) -> np.ndarray:
        return np.sort(np.concatenate(self.parts)) if self.parts else np.empty(0)


@dataclass
class Moments:
    """Mean and standard deviation of every row of a column, shifted for precision."""

    shift: float
    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, finite: np.ndarray) -> None:
        centred = finite - self.shift
        self.n += int(finite.size)
        self.total += float(centred.sum())
        self.squares += float(np.dot(centred, centred))

    def result(self) -> tuple[float, float]:
        mean = self.total / self.n
        return self.shift + mean, math.sqrt(max(self.squares / self.n - mean * mean, 0.0))


def _pool_map(
    pool: ThreadPoolExecutor, work: Callable[[str, pa.Array], None], batch: pa.RecordBatch
) -> None:
    names = batch.schema.names
    for future in [pool.submit(work, n, batch.column(i)) for i, n in enumerate(names)]:
        future.result()


def _workers(columns: int) -> int:
    return max(1, min(4, os.cpu_count() or 1, columns))


def profile_table(
    table: Table,
    columns: list[str],
    bins: int,
    sample: int = SAMPLE_VALUES,
    rows: int = BATCH_ROWS,
    keep: bool = False,
) -> tuple[dict[str, Any], dict[str, Sample]]:
    """The reference profile of ``columns`` (``profile["features"]``), streamed; and the
    numeric columns' samples (whole when they fit: the exact mode reads them)."""
    kinds = {name: kind_of(table.schema.field(name).type) for name in columns}
    samples = {n: Sample(sample) for n in columns if kinds[n] == NUMERIC}
    categories: dict[str, dict[str, int]] = {n: {} for n in columns if kinds[n] != NUMERIC}
    missing = dict.fromkeys(columns, 0)
    count = 0

    def work(name: str, array: pa.Array) -> None:
        if name in samples:
            samples[name].add(floats(array))
            return
        found, absent = category_counts(array)
        held = categories[name]
        for key, value in found.items():
            held[key] = held.get(key, 0) + value
        missing[name] += absent

    with ThreadPoolExecutor(_workers(len(columns)), thread_name_prefix="profile") as pool:
        for batch in table.batches(columns, rows):
            count += batch.num_rows
            _pool_map(pool, work, batch)
    if count == 0:
        raise InvalidInput(f"the reference data has no rows ({table.label})")
    features: dict[str, Any] = {}
    partial = []
    for name in columns:
        if name in categories:
            ordered = sorted(categories[name].items(), key=lambda kv: -kv[1])
            present = sum(categories[name].values())
            features[name] = {
                "type": CATEGORICAL,
                "count": present,
                "missing": missing[name],
                "frequencies": dict(ordered),
            }
            continue
        held = samples[name]
        if held.whole:
            features[name] = numeric_profile_sorted(held.sorted(), held.missing, bins)
        else:
            partial.append(name)
    if partial:  # in the table's column order, as the report lists them
        counted = _count_all(table, partial, samples, bins, rows)
        features = {name: features.get(name) or counted[name] for name in columns}
    if not keep:
        for held in samples.values():
            held.parts.clear()
    return features, samples


def _count_all(
    table: Table, names: list[str], samples: dict[str, Sample], bins: int, rows: int
) -> dict[str, Any]:
    """Second pass for columns longer than their sample: edges from the sample (widened to
    the extremes seen), every row counted into them, mean and std of every row."""
    sketches: dict[str, Any] = {}
    moments: dict[str, Moments] = {}
    for name in names:
        held = samples[name]
        edges = quantile_edges(held.sorted(), bins)
        edges[0] = min(edges[0], held.low)
        edges[-1] = max(edges[-1], held.high)
        held.parts.clear()
        sketches[name] = counts_for({"type": NUMERIC, "edges": edges})
        moments[name] = Moments(shift=float(edges[edges.size // 2]))

    def work(name: str, array: pa.Array) -> None:
        values = floats(array)
        finite = values[np.isfinite(values)]
        sketches[name].add_sorted(np.sort(finite), 0)
        moments[name].add(finite)

    with ThreadPoolExecutor(_workers(len(names)), thread_name_prefix="profile") as pool:
        for batch in table.batches(names, rows):
            _pool_map(pool, work, batch)
    out: dict[str, Any] = {}
    for name in names:
        held, sketch = samples[name], sketches[name]
        mean, std = moments[name].result()
        out[name] = {
            "type": NUMERIC,
            "count": held.seen,
            "missing": held.missing,
            "edges": [float(e) for e in sketch.edges],
            "counts": [int(c) for c in sketch.counts],
            "mean": mean,
            "std": std,
            "min": held.low,
            "max": held.high,
            "sampled": held.kept,
        }
    return out


def sketch_table(
    table: Table, features: Mapping[str, Any], rows: int = BATCH_ROWS
) -> tuple[dict[str, Counts], int]:
    """Every row of ``table`` counted into the bins of the profile ``features``."""
    sketches = {name: counts_for(spec) for name, spec in features.items()}
    count = 0

    def work(name: str, array: pa.Array) -> None:
        sketch = sketches[name]
        if isinstance(sketch, TextLengths):  # counted as lengths, past TextLengths.add
            lengths = pc.utf8_length(array) if _is_text(array.type) else None
            NumericCounts.add(sketch, floats(lengths) if lengths is not None else _lengths(array))
        elif isinstance(sketch, NumericCounts):
            sketch.add(floats(array))
        else:
            found, absent = category_counts(array)
            for key, value in found.items():
                sketch.add_count(key, value)
            sketch.missing += absent

    with ThreadPoolExecutor(_workers(len(features)), thread_name_prefix="drift") as pool:
        for batch in table.batches(list(features), rows):
            count += batch.num_rows
            _pool_map(pool, work, batch)
    return sketches, count


def _lengths(array: pa.Array) -> np.ndarray:
    return np.fromiter(
        (len(v) if isinstance(v, str) else math.nan for v in array.to_pylist()), dtype=float
    )


def check_columns(
    reference: Mapping[str, str], ref_label: str, current: Table, wanted: list[str] | None
) -> list[str]:
    """The columns to compare, refused with the file and column named when a column is on
    one side only (unless ``--columns`` picks), or its type changed."""
    names = list(wanted) if wanted else list(reference)
    if len(set(names)) != len(names):
        raise InvalidInput("column names must be unique")
    present = set(current.schema.names)
    for side, label, have in (
        ("reference", ref_label, set(reference)),
        ("current", current.label, present),
    ):
        lacking = [n for n in names if n not in have]
        if lacking:
            shown = ", ".join(repr(n) for n in lacking[:5])
            raise InvalidInput(f"column(s) {shown} missing from the {side} data ({label})")
    if not wanted and not ref_label.startswith("profile "):
        extra = [n for n in current.schema.names if n not in reference]
        if extra:
            shown = ", ".join(repr(n) for n in extra[:5])
            raise InvalidInput(
                f"column(s) {shown} missing from the reference data ({ref_label}); "
                "pass --columns to compare the shared ones"
            )
    for name in names:
        dtype = current.schema.field(name).type
        was, now = reference[name], kind_of(dtype)
        if was == NUMERIC and now != NUMERIC:
            raise InvalidInput(
                f"column {name!r}: numeric in the reference, {dtype} in the current data "
                f"({current.label})"
            )
        stored = ref_label.startswith("profile ")  # int-coded categories count as text
        if was == CATEGORICAL and now == NUMERIC and not stored and not pa.types.is_null(dtype):
            raise InvalidInput(
                f"column {name!r}: categorical in the reference, {dtype} in the current data "
                f"({current.label})"
            )
    return names


def drift_tables(
    reference: Table | Mapping[str, Any],
    current: Table,
    config: DriftConfig | None = None,
    *,
    exact: bool = False,
    bins: int = 100,
    columns: list[str] | None = None,
    sample: int = SAMPLE_VALUES,
    rows: int = BATCH_ROWS,
    reference_label: str = "",
) -> DriftReport:
    """Per-column drift of ``current`` against a reference table or a stored profile
    (its ``features``), streamed."""
    config = config or DriftConfig()
    if isinstance(reference, Table):
        kinds = {n: kind_of(reference.schema.field(n).type) for n in reference.schema.names}
        names = check_columns(kinds, reference.label, current, columns)
        features, ref_samples = profile_table(reference, names, bins, sample, rows, keep=exact)
    else:
        if exact:
            raise InvalidInput(
                "--exact needs the reference's raw values; a stored profile has only its bins"
            )
        stored = {n: s for n, s in reference.items() if s.get("type") in KINDS}
        kinds = {n: s["type"] for n, s in stored.items()}
        names = check_columns(kinds, f"profile {reference_label}", current, columns)
        features, ref_samples = {n: stored[n] for n in names}, {}
    sketches, count = sketch_table(current, features, rows)
    if count == 0:
        raise InvalidInput(f"the current data has no rows ({current.label})")
    exact_values = _exact(ref_samples, current, features, sample, rows) if exact else {}
    profile = {"features": features, "output": None}
    return compare(profile, sketches, None, config, exact_values)


def _exact(
    ref_samples: Mapping[str, Any],
    current: Table,
    features: Mapping[str, Any],
    sample: int,
    rows: int,
) -> dict[str, dict[str, float]]:
    """scipy's KS and Wasserstein on the raw values: both sides must fit in memory."""
    numeric = [n for n, s in features.items() if s["type"] == NUMERIC]
    if not numeric:
        return {}
    too_long = [n for n in numeric if not ref_samples[n].whole]
    if too_long:
        raise InvalidInput(
            _needs_loading(too_long[0], "reference", ref_samples[too_long[0]], sample)
        )
    _, cur_samples = profile_table(current, numeric, 2, sample, rows, keep=True)
    for name in numeric:
        if not cur_samples[name].whole:
            raise InvalidInput(_needs_loading(name, "current", cur_samples[name], sample))
    return {
        name: exact_numeric(ref_samples[name].sorted(), cur_samples[name].sorted())
        for name in numeric
    }


def _needs_loading(name: str, side: str, held: Sample, sample: int) -> str:
    return (
        f"--exact would load column {name!r} of the {side} data whole ({held.seen:,} values, "
        f"over the {sample:,} it holds in memory); drop --exact for the streamed binned tests"
    )


def _is_text(dtype: pa.DataType) -> bool:
    return bool(pa.types.is_string(dtype) or pa.types.is_large_string(dtype))
