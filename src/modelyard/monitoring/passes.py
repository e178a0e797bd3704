"""The drift gate's work on one part of a table, for any engine: plain functions of plain
arguments whose results merge, in the parts' order, into what one pass over the table gives.

Three passes exist: the reference pass (numeric samples, category counts, missing counts),
the count pass (every row of the sampled numeric columns counted into the edges chosen from
the samples, with mean and standard deviation) and the current pass (every row of the
current table counted into the reference's bins). Nothing here imports an engine. Columns of
a batch are binned on a small thread pool: numpy's sort and pyarrow's kernels release the
interpreter lock (one thread per task on a cluster, whose parallelism is its tasks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelyard.monitoring.samples import Moments, Sample
from modelyard.monitoring.sketch import NumericCounts, TextLengths, counts_for
from modelyard.monitoring.tables import BATCH_ROWS, Part, Table

NUMERIC, CATEGORICAL, TEXT = "numeric", "categorical", "text"
KINDS = (NUMERIC, CATEGORICAL, TEXT)
Result = TypeVar("Result")


class Engine(Protocol):
    """Runs a task on every part and yields the results in the parts' order; ``hint()``
    (what is known so far) is read when each task starts. ``threads``: per task, for the
    columns of a batch (None: up to 4)."""

    threads: int | None

    def run(
        self,
        task: Callable[[Part, Any], Result],
        parts: list[Part],
        hint: Callable[[], Any],
    ) -> Iterator[Result]: ...


class LocalEngine:
    """The parts one after another, in this process (columns on threads)."""

    threads: int | None = None

    def run(
        self,
        task: Callable[[Part, Any], Result],
        parts: list[Part],
        hint: Callable[[], Any],
    ) -> Iterator[Result]:
        for part in parts:
            yield task(part, hint())


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
    """Counts per category as text (as ``str`` of the value, like pandas' profile), in the
    order first seen, and the missing count."""
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


def add_counts(into: dict[str, int], found: Mapping[str, int]) -> None:
    for key, value in found.items():
        into[key] = into.get(key, 0) + value


def _each_batch(
    table: Table,
    part: Part,
    columns: list[str],
    rows: int,
    threads: int | None,
    work: Callable[[str, pa.Array, int], None],
) -> int:
    """``work(column, array, first_row)`` on every column of every batch; the rows read."""
    count = 0
    size = threads or max(1, min(4, len(columns)))
    with ThreadPoolExecutor(size, thread_name_prefix="drift") as pool:
        for start, batch in table.scan(part, columns, rows):
            count += batch.num_rows
            names = batch.schema.names
            futures = [pool.submit(work, n, batch.column(i), start) for i, n in enumerate(names)]
            for future in futures:
                future.result()
    return count


# -- the reference pass ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceWork:
    table: Table
    columns: tuple[str, ...]
    kinds: Mapping[str, str]
    limit: int
    thin: int
    rows: int = BATCH_ROWS
    threads: int | None = None


@dataclass
class ReferencePart:
    samples: dict[str, Sample]
    categories: dict[str, dict[str, int]]
    missing: dict[str, int]
    count: int = 0

    def merge(self, other: ReferencePart) -> None:
        for name, sample in other.samples.items():
            self.samples[name].merge(sample)
        for name, found in other.categories.items():
            add_counts(self.categories[name], found)
        for name, absent in other.missing.items():
            self.missing[name] += absent
        self.count += other.count

    def starts(self) -> dict[str, tuple[int, int]]:
        """Per numeric column, the level and the values seen so far: where a later part's
        sample may start without changing the merged one."""
        return {name: (sample.level, sample.seen) for name, sample in self.samples.items()}


def empty_reference(
    work: ReferenceWork, starts: Mapping[str, tuple[int, int]] | None = None
) -> ReferencePart:
    numeric = [n for n in work.columns if work.kinds[n] == NUMERIC]
    starts = starts or {}
    return ReferencePart(
        {n: Sample(work.limit, work.thin, *starts.get(n, (0, 0))) for n in numeric},
        {n: {} for n in work.columns if work.kinds[n] != NUMERIC},
        dict.fromkeys(work.columns, 0),
    )


def reference_part(
    work: ReferenceWork, part: Part, starts: Mapping[str, tuple[int, int]]
) -> ReferencePart:
    """The reference pass over one part; numeric samples start from ``starts`` (the merged
    result's so far: a part keeps no value the merge would drop)."""
    out = empty_reference(work, starts)
    file = part.file

    def one(name: str, array: pa.Array, start: int) -> None:
        if name in out.samples:
            out.samples[name].add(floats(array), file, start)
            return
        found, absent = category_counts(array)
        add_counts(out.categories[name], found)
        out.missing[name] += absent

    out.count = _each_batch(work.table, part, list(work.columns), work.rows, work.threads, one)
    return out


# -- the count pass (sampled numeric columns) -------------------------------------------------


@dataclass(frozen=True)
class CountWork:
    table: Table
    edges: Mapping[str, np.ndarray]
    shifts: Mapping[str, float]
    rows: int = BATCH_ROWS
    threads: int | None = None


@dataclass
class CountPart:
    sketches: dict[str, NumericCounts]
    moments: dict[str, Moments]

    def merge(self, other: CountPart) -> None:
        for name, sketch in other.sketches.items():
            self.sketches[name].merge(sketch)
            self.moments[name].merge(other.moments[name])


def empty_count(work: CountWork) -> CountPart:
    return CountPart(
        {n: NumericCounts.empty(e) for n, e in work.edges.items()},
        {n: Moments(shift=work.shifts[n]) for n in work.edges},
    )


def count_part(work: CountWork, part: Part, _: Any = None) -> CountPart:
    out = empty_count(work)

    def one(name: str, array: pa.Array, start: int) -> None:
        values = floats(array)
        finite = values[np.isfinite(values)]
        out.sketches[name].add_sorted(np.sort(finite), 0)
        out.moments[name].add(finite)

    _each_batch(work.table, part, list(work.edges), work.rows, work.threads, one)
    return out


# -- the current pass -----------------------------------------------------------------------


@dataclass(frozen=True)
class CurrentWork:
    table: Table
    features: Mapping[str, Any]
    rows: int = BATCH_ROWS
    threads: int | None = None


@dataclass
class CurrentPart:
    """Numeric and text columns in the reference's bins; categories as counts by value in
    the order first seen (the caller counts them into the reference's categories)."""

    numeric: dict[str, NumericCounts]
    categories: dict[str, dict[str, int]] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    count: int = 0


def current_part(work: CurrentWork, part: Part, _: Any = None) -> CurrentPart:
    numeric: dict[str, NumericCounts] = {}
    out = CurrentPart(numeric)
    for name, spec in work.features.items():
        sketch = counts_for(spec)
        if isinstance(sketch, NumericCounts):
            numeric[name] = sketch
        else:
            out.categories[name], out.missing[name] = {}, 0

    def one(name: str, array: pa.Array, start: int) -> None:
        sketch = numeric.get(name)
        if isinstance(sketch, TextLengths):  # counted as lengths, past TextLengths.add
            lengths = pc.utf8_length(array) if _is_text(array.type) else None
            NumericCounts.add(sketch, floats(lengths) if lengths is not None else _lengths(array))
        elif sketch is not None:
            sketch.add(floats(array))
        else:
            found, absent = category_counts(array)
            add_counts(out.categories[name], found)
            out.missing[name] += absent

    out.count = _each_batch(work.table, part, list(work.features), work.rows, work.threads, one)
    return out


def _lengths(array: pa.Array) -> np.ndarray:
    return np.fromiter(
        (len(v) if isinstance(v, str) else math.nan for v in array.to_pylist()), dtype=float
    )


def _is_text(dtype: pa.DataType) -> bool:
    return bool(pa.types.is_string(dtype) or pa.types.is_large_string(dtype))
