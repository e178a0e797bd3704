"""Request rows to columns: a fast path for well-formed input, the full report otherwise.

Most requests are well formed, so the fast path only confirms that (types, finiteness,
known categories) column by column with numpy. Anything odd is handed to
:meth:`Signature.to_frame`, whose slower checks produce the ``{row, feature, rule}`` list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.signature import Signature
from modelyard.errors import SchemaMismatch

_NUMBER_KINDS = frozenset("iuf")


@dataclass(frozen=True)
class Columns:
    """Validated input: one numpy array per feature, in signature order."""

    arrays: dict[str, np.ndarray]
    rows: int

    @classmethod
    def concat(cls, parts: Sequence[Columns]) -> Columns:
        if len(parts) == 1:
            return parts[0]
        names = list(parts[0].arrays)
        return cls(
            {n: np.concatenate([p.arrays[n] for p in parts]) for n in names},
            sum(p.rows for p in parts),
        )

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.arrays, copy=False)


def from_records(signature: Signature, records: object) -> Columns:
    """``[{feature: value}, …]`` → columns."""
    if not isinstance(records, list) or not records:
        raise SchemaMismatch("'instances' must be a non-empty list of objects")
    names = signature.names
    width = len(names)
    if all(type(r) is dict and len(r) == width for r in records):
        try:
            columns = {n: [r[n] for r in records] for n in names}
        except KeyError:
            columns = None
        if columns is not None:
            fast = _fast(signature, columns, len(records))
            if fast is not None:
                return fast
    return _slow(signature, records)


def from_columns(signature: Signature, columns: object) -> Columns:
    """``{feature: [values…]}`` → columns."""
    if not isinstance(columns, Mapping) or not columns:
        raise SchemaMismatch("'inputs' must be a non-empty object of feature → list of values")
    if set(columns) == set(signature.names) and all(type(v) is list for v in columns.values()):
        lengths = {len(v) for v in columns.values()}
        if len(lengths) == 1 and 0 not in lengths:
            fast = _fast(signature, {n: columns[n] for n in signature.names}, lengths.pop())
            if fast is not None:
                return fast
    return _slow(signature, columns)


def from_frame(signature: Signature, frame: pd.DataFrame) -> Columns:
    checked = signature.to_frame(frame)
    return Columns({n: checked[n].to_numpy() for n in signature.names}, int(checked.shape[0]))


def _fast(signature: Signature, columns: dict[str, list[Any]], rows: int) -> Columns | None:
    arrays: dict[str, np.ndarray] = {}
    for spec in signature.inputs:
        values = columns[spec.name]
        if spec.numeric:
            array = np.asarray(values)
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
            elif not all(type(v) is str for v in values):
                return None
            arrays[spec.name] = np.asarray(values, dtype=object)
    return Columns(arrays, rows)


def _slow(signature: Signature, data: object) -> Columns:
    return from_frame(signature, signature.to_frame(data))
