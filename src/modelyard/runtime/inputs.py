"""Request rows to columns: a fast path for well-formed input, the full report otherwise.

Most requests are well formed, so the fast path only confirms that (types, finiteness,
known categories) column by column with numpy. Anything odd is handed to
:meth:`Signature.to_frame`, whose slower checks produce the ``{row, feature, rule}`` list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import attrgetter, is_, itemgetter
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.signature import Signature
from modelyard.errors import SchemaMismatch

_NUMBER_KINDS = frozenset("iuf")
_NUMBER_TYPES = frozenset((float, int))
rows_of = attrgetter("rows")  # of a Columns (C getters, for map over many of them)
matrix_of = attrgetter("numbers")


@dataclass(slots=True)  # not frozen: see runtime/events.py's PredictionEvent
class Columns:
    """Validated input in signature order: a float matrix when every feature is numeric
    (one array for the whole request, the cheap case), else one array per feature."""

    names: tuple[str, ...]
    rows: int
    numbers: np.ndarray | None = None  # rows × features, float64
    arrays: dict[str, np.ndarray] | None = None

    @classmethod
    def concat(cls, parts: Sequence[Columns], *, by_column: bool = False) -> Columns:
        """The parts' rows in order. ``by_column``: a numeric matrix stored column by
        column (Fortran order), for readers that take it a feature at a time (a flush's
        sketches: copying a contiguous column is several times cheaper than gathering it
        across rows)."""
        if len(parts) == 1:
            return parts[0]
        rows = sum(map(rows_of, parts))  # map, not a loop: a flush joins thousands of requests
        matrices = list(map(matrix_of, parts))
        if not any(map(is_, matrices, repeat(None))):
            out = np.empty((rows, len(parts[0].names)), order="F") if by_column else None
            return cls(parts[0].names, rows, numbers=np.concatenate(matrices, out=out))
        return cls(
            parts[0].names,
            rows,
            arrays={n: np.concatenate([p.column(n) for p in parts]) for n in parts[0].names},
        )

    def slice(self, start: int, stop: int) -> Columns:
        """Rows ``start`` to ``stop`` (views, no copy)."""
        if self.numbers is not None:
            return Columns(self.names, stop - start, numbers=self.numbers[start:stop])
        assert self.arrays is not None
        return Columns(
            self.names,
            stop - start,
            arrays={n: a[start:stop] for n, a in self.arrays.items()},
        )

    def take(self, positions: np.ndarray) -> Columns:
        """The rows at ``positions`` (copies)."""
        if self.numbers is not None:
            return Columns(self.names, len(positions), numbers=self.numbers[positions])
        assert self.arrays is not None
        return Columns(
            self.names, len(positions), arrays={n: a[positions] for n, a in self.arrays.items()}
        )

    def column(self, name: str) -> np.ndarray:
        if self.arrays is not None:
            return self.arrays[name]
        assert self.numbers is not None
        return self.numbers[:, self.names.index(name)]

    def frame(self) -> pd.DataFrame:
        if self.numbers is not None:
            return pd.DataFrame(self.numbers, columns=list(self.names), copy=False)
        return pd.DataFrame(self.arrays, copy=False)

    def matrix(self) -> np.ndarray | None:
        """Rows × features as one float array, when every column is numeric."""
        if self.numbers is not None:
            return self.numbers
        assert self.arrays is not None
        arrays = list(self.arrays.values())
        if not all(a.dtype.kind in "biuf" for a in arrays):
            return None
        return np.column_stack(arrays).astype(np.float64, copy=False)


def from_records(signature: Signature, records: object) -> Columns:
    """``[{feature: value}, …]`` → columns."""
    if not isinstance(records, list) or not records:
        raise SchemaMismatch("'instances' must be a non-empty list of objects")
    names = signature.feature_names
    width = len(names)
    if all(type(r) is dict and len(r) == width for r in records):
        try:
            if signature.all_numeric and not signature.has_bool:
                numbers = _numbers(_row_values(records, names))
                if numbers is not None:
                    return Columns(names, len(records), numbers=numbers)
                return _slow(signature, records)
            columns = {n: [r[n] for r in records] for n in names}
        except KeyError:
            return _slow(signature, records)
        fast = _fast(signature, columns, len(records))
        if fast is not None:
            return fast
    return _slow(signature, records)


def from_columns(signature: Signature, columns: object) -> Columns:
    """``{feature: [values…]}`` → columns (a 1-D array for a list: v2's binary tensors)."""
    if not isinstance(columns, Mapping) or not columns:
        raise SchemaMismatch("'inputs' must be a non-empty object of feature → list of values")
    names = signature.feature_names
    if columns.keys() == signature.feature_set and all(
        type(v) is list or (isinstance(v, np.ndarray) and v.ndim == 1) for v in columns.values()
    ):
        lengths = {len(v) for v in columns.values()}
        if len(lengths) == 1 and 0 not in lengths:
            fast = _fast(signature, {n: columns[n] for n in names}, lengths.pop())
            if fast is not None:
                return fast
    return _slow(signature, columns)


def from_matrix(signature: Signature, values: list[Any], width: int) -> Columns:
    """``rows × width`` values in one flat list, row by row (features in signature order)
    → columns: straight into one float matrix when every value is a float and the model
    takes only non-null numbers (the common case), else column by column."""
    if (
        signature.all_numeric
        and not signature.has_bool
        and values
        and len(values) % width == 0
        and all(type(v) is float for v in values)
    ):
        matrix = np.array(values, dtype=np.float64).reshape(-1, width)
        if np.isfinite(matrix).all():
            return Columns(signature.feature_names, matrix.shape[0], numbers=matrix)
    names = signature.feature_names
    return from_columns(signature, {name: values[i::width] for i, name in enumerate(names)})


def from_frame(signature: Signature, frame: pd.DataFrame) -> Columns:
    return from_checked_frame(signature, signature.to_frame(frame))


def from_checked_frame(signature: Signature, frame: pd.DataFrame) -> Columns:
    """A frame that ``signature.problems`` already found clean → columns, without checking
    it a second time (batch scoring checks each chunk once, to find its bad rows)."""
    return Columns(
        signature.feature_names,
        int(frame.shape[0]),
        arrays={n: frame[n].to_numpy() for n in signature.names},
    )


def _row_values(records: list[dict[str, Any]], names: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Each record's values in ``names`` order (a C-level lookup per row: itemgetter);
    KeyError when one lacks a name."""
    if len(names) == 1:
        (name,) = names
        return [(r[name],) for r in records]
    values = itemgetter(*names)
    return [values(r) for r in records]


def _numbers(rows: list[tuple[Any, ...]]) -> np.ndarray | None:
    """All values JSON numbers (no booleans: numpy would make True 1.0), finite → one float
    matrix; anything else → None (slow path). The types are looked at in one C-level pass."""
    if not set(map(type, chain.from_iterable(rows))) <= _NUMBER_TYPES:
        return None
    try:
        array = np.array(rows, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):  # an integer too large for a float
        return None
    return array if np.isfinite(array).all() else None


def _fast(
    signature: Signature, columns: Mapping[str, list[Any] | np.ndarray], rows: int
) -> Columns | None:
    arrays: dict[str, np.ndarray] = {}
    for spec in signature.inputs:
        values = columns[spec.name]
        if spec.numeric:
            try:
                array = np.asarray(values)
            except (ValueError, TypeError, OverflowError):  # nested or ragged values
                return None
            if array.ndim != 1:
                return None
            if spec.kind != "bool" and (
                array.dtype.kind == "b"
                if isinstance(values, np.ndarray)
                else any(v is True or v is False for v in values)
            ):
                return None
            if array.dtype.kind not in _NUMBER_KINDS and not (
                array.dtype.kind == "b" and spec.kind == "bool"
            ):
                return None
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                return None
            arrays[spec.name] = array
        else:
            if spec.categories is not None:
                allowed = spec.category_set
                if not all(type(v) is str and v in allowed for v in values):
                    return None
            elif isinstance(values, np.ndarray) or not all(type(v) is str for v in values):
                return None
            arrays[spec.name] = np.asarray(values, dtype=object)
    return Columns(signature.feature_names, rows, arrays=arrays)


def _slow(signature: Signature, data: object) -> Columns:
    return from_checked_frame(signature, signature.to_frame(data))  # checked once, here
