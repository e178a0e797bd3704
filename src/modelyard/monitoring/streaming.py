"""Drift between two tables of any size (``modelyard drift``), streamed batch by batch.

The reference is profiled in one pass: numeric columns keep their finite values up to
``sample`` per column (exact quantile edges, the same profile as ``drift_frames`` when the
column fits; beyond that a sample fixed by the rows' positions sets the edges and a second
pass counts every row into them, ``monitoring/samples.py``), categorical columns keep a
count per category. The current table is then counted into the reference's bins straight
from each batch's Arrow arrays — memory holds a batch and the sketches, never the table. A
stored profile (a registered version's or a dataset version's) replaces the reference pass.

Each pass runs part by part (``monitoring/passes.py``) on an engine — here, or on a Dask
cluster (``monitoring/on_dask.py``) — and the parts' results merge in order, so both
engines give the same report.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa

from modelyard.domain.monitor_results import DriftReport
from modelyard.domain.monitoring import DriftConfig
from modelyard.errors import InvalidInput
from modelyard.monitoring.drift import compare, exact_numeric
from modelyard.monitoring.passes import (
    CATEGORICAL,
    KINDS,
    NUMERIC,
    CountWork,
    CurrentWork,
    Engine,
    LocalEngine,
    ReferenceWork,
    count_part,
    current_part,
    empty_count,
    empty_reference,
    kind_of,
    reference_part,
)
from modelyard.monitoring.profile import numeric_profile_sorted
from modelyard.monitoring.samples import Sample
from modelyard.monitoring.sketch import CategoryCounts, Counts, NumericCounts, quantile_edges
from modelyard.monitoring.tables import BATCH_ROWS, PART_ROWS, Table

SAMPLE_VALUES = 1_000_000  # values per numeric column kept for exact quantiles (8 MB)
THIN_VALUES = 524_288  # past that, the sample that sets the edges (4 MiB per column)


def thin_for(sample: int) -> int:
    return min(sample, max(sample // 4, THIN_VALUES))


def profile_table(
    table: Table,
    columns: list[str],
    bins: int,
    sample: int = SAMPLE_VALUES,
    rows: int = BATCH_ROWS,
    keep: bool = False,
    engine: Engine | None = None,
    part_rows: int = PART_ROWS,
) -> tuple[dict[str, Any], dict[str, Sample]]:
    """The reference profile of ``columns`` (``profile["features"]``), streamed; and the
    numeric columns' samples (whole when they fit: the exact mode reads them)."""
    engine = engine or LocalEngine()
    kinds = {name: kind_of(table.schema.field(name).type) for name in columns}
    work = ReferenceWork(
        table, tuple(columns), kinds, sample, thin_for(sample), rows, engine.threads
    )
    merged = empty_reference(work)
    parts = table.parts(part_rows)
    for result in engine.run(partial(reference_part, work), parts, merged.starts):
        merged.merge(result)
    if merged.count == 0:
        raise InvalidInput(f"the reference data has no rows ({table.label})")
    features: dict[str, Any] = {}
    partial_columns = []
    for name in columns:
        if name in merged.categories:
            counted = merged.categories[name]
            ordered = sorted(counted.items(), key=lambda kv: -kv[1])
            features[name] = {
                "type": CATEGORICAL,
                "count": sum(counted.values()),
                "missing": merged.missing[name],
                "frequencies": dict(ordered),
            }
            continue
        held = merged.samples[name]
        if held.whole:
            features[name] = numeric_profile_sorted(held.sorted(), held.missing, bins)
        else:
            partial_columns.append(name)
    if partial_columns:  # in the table's column order, as the report lists them
        counted_all = _count_all(table, partial_columns, merged.samples, bins, rows, engine, parts)
        features = {name: features.get(name) or counted_all[name] for name in columns}
    if not keep:
        for held in merged.samples.values():
            held.release()
    return features, merged.samples


def _count_all(
    table: Table,
    names: list[str],
    samples: dict[str, Sample],
    bins: int,
    rows: int,
    engine: Engine,
    parts: list[Any],
) -> dict[str, Any]:
    """Second pass for columns longer than their sample: edges from the sample (widened to
    the extremes seen), every row counted into them, mean and std of every row."""
    edges: dict[str, np.ndarray] = {}
    for name in names:
        held = samples[name]
        found = quantile_edges(held.sorted(), bins)
        found[0] = min(found[0], held.low)
        found[-1] = max(found[-1], held.high)
        held.release()
        edges[name] = found
    shifts = {name: float(e[e.size // 2]) for name, e in edges.items()}
    work = CountWork(table, edges, shifts, rows, engine.threads)
    merged = empty_count(work)
    for result in engine.run(partial(count_part, work), parts, lambda: None):
        merged.merge(result)
    out: dict[str, Any] = {}
    for name in names:
        held, sketch = samples[name], merged.sketches[name]
        mean, std = merged.moments[name].result()
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
    table: Table,
    features: Mapping[str, Any],
    rows: int = BATCH_ROWS,
    engine: Engine | None = None,
    part_rows: int = PART_ROWS,
) -> tuple[dict[str, Counts], int]:
    """Every row of ``table`` counted into the bins of the profile ``features``."""
    engine = engine or LocalEngine()
    work = CurrentWork(table, features, rows, engine.threads)
    sketches: dict[str, Counts] = {}
    count = 0
    for result in engine.run(partial(current_part, work), table.parts(part_rows), lambda: None):
        count += result.count
        for name, counted in result.numeric.items():
            held = sketches.setdefault(name, counted)
            if held is not counted:
                assert isinstance(held, NumericCounts)
                held.merge(counted)
        for name, found in result.categories.items():
            known = frozenset(features[name]["frequencies"])
            categories = sketches.setdefault(name, CategoryCounts(known))
            assert isinstance(categories, CategoryCounts)
            for key, value in found.items():
                categories.add_count(key, value)
            categories.missing += result.missing[name]
    return {name: sketches[name] for name in features}, count


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
    engine: Engine | None = None,
    part_rows: int = PART_ROWS,
) -> DriftReport:
    """Per-column drift of ``current`` against a reference table or a stored profile
    (its ``features``), streamed part by part on ``engine`` (this process by default)."""
    config = config or DriftConfig()
    if exact and engine is not None and not isinstance(engine, LocalEngine):
        raise InvalidInput("--exact loads raw samples in this process; use --engine local")
    if isinstance(reference, Table):
        kinds = {n: kind_of(reference.schema.field(n).type) for n in reference.schema.names}
        names = check_columns(kinds, reference.label, current, columns)
        features, ref_samples = profile_table(
            reference, names, bins, sample, rows, keep=exact, engine=engine, part_rows=part_rows
        )
    else:
        if exact:
            raise InvalidInput(
                "--exact needs the reference's raw values; a stored profile has only its bins"
            )
        stored = {n: s for n, s in reference.items() if s.get("type") in KINDS}
        kinds = {n: s["type"] for n, s in stored.items()}
        names = check_columns(kinds, f"profile {reference_label}", current, columns)
        features, ref_samples = {n: stored[n] for n in names}, {}
    sketches, count = sketch_table(current, features, rows, engine, part_rows)
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
