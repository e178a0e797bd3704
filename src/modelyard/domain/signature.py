"""Model signatures: what a model takes and gives, inferred once from a sample.

Inference and validation are vectorised over columns so the same code serves a
registration sample of 100k rows and a request of one row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import orjson
import pandas as pd

from modelyard.domain.kinds import (
    BOOL,
    CLOSED,
    FEATURE_KINDS,
    FLOAT,
    INT,
    NUMERIC_KINDS,
    OPEN,
    TENSOR,
    TEXT,
)
from modelyard.errors import SchemaMismatch

MAX_CATEGORIES = 1000  # more distinct strings than this: text
MAX_PROBLEMS = 100
# Strings this long on average, or mostly distinct, are text rather than an open category.
TEXT_MEAN_LENGTH = 30
TEXT_DISTINCT_SHARE = 0.5
TEXT_MIN_ROWS = 20  # below this a sample is too small to call a column mostly distinct

__all__ = ["FEATURE_KINDS", "FeatureSpec", "OutputSpec", "Signature", "infer_signature"]


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    kind: str  # one of FEATURE_KINDS (domain/kinds.py)
    nullable: bool
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] | None = None
    # Tensors only: the element type (numpy's name) and each row's shape, None where any
    # size goes (the batch dimension is never part of it).
    dtype: str | None = None
    shape: tuple[int | None, ...] | None = None

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    @property
    def strings_only(self) -> bool:
        """Open categories and text take strings of any value, and nothing else (old
        ``category``/``string`` signatures never checked the type and still don't)."""
        return self.kind in (OPEN, TEXT)

    @cached_property
    def category_set(self) -> frozenset[str]:
        return frozenset(self.categories or ())


@dataclass(frozen=True)
class OutputSpec:
    kind: str  # classification | regression | other
    classes: tuple[Any, ...] | None = None
    has_proba: bool = False
    width: int = 1


@dataclass(frozen=True)
class Signature:
    inputs: tuple[FeatureSpec, ...]
    output: OutputSpec
    # What the model's own API expects: dataframe | array (2-D) | column (one 1-D input,
    # e.g. a list of strings for a text pipeline)
    input_format: str = "dataframe"
    _index: dict[str, FeatureSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({f.name: f for f in self.inputs})

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.inputs]

    @cached_property
    def feature_names(self) -> tuple[str, ...]:
        """The features in order, made once (requests read it every time)."""
        return tuple(f.name for f in self.inputs)

    @cached_property
    def feature_set(self) -> frozenset[str]:
        return frozenset(self.feature_names)

    @cached_property
    def has_tensors(self) -> bool:
        return any(f.kind == TENSOR for f in self.inputs)

    @cached_property
    def has_bool(self) -> bool:
        return any(f.kind == "bool" for f in self.inputs)

    @cached_property
    def all_numeric(self) -> bool:
        """Every feature is a number that may not be null (requests fit one float matrix)."""
        return all(f.numeric and not f.nullable for f in self.inputs)

    def feature(self, name: str) -> FeatureSpec:
        return self._index[name]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (tuples become lists), so a stored and a fresh signature compare equal."""
        data = {
            "inputs": [_spec_dict(f) for f in self.inputs],
            "output": asdict(self.output),
            "input_format": self.input_format,
        }
        result: dict[str, Any] = orjson.loads(orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY))
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        inputs = tuple(
            FeatureSpec(
                **{
                    **f,
                    "categories": (
                        tuple(f["categories"]) if f.get("categories") is not None else None
                    ),
                    "shape": tuple(f["shape"]) if f.get("shape") is not None else None,
                }
            )
            for f in data["inputs"]
        )
        out = dict(data["output"])
        out["classes"] = tuple(out["classes"]) if out.get("classes") is not None else None
        return cls(inputs=inputs, output=OutputSpec(**out), input_format=data["input_format"])

    # -- turning caller data into a frame -------------------------------------------------

    def to_frame(self, data: object) -> pd.DataFrame:
        """Accept a DataFrame, columns (``{feature: [..]}``), records or a 2-D array."""
        if self.has_tensors and not isinstance(data, pd.DataFrame):
            frame = self._frame_from_tensors(data)
        elif isinstance(data, pd.DataFrame):
            frame = data
        elif isinstance(data, pd.Series) and self.input_format == "column":
            frame = pd.DataFrame({self.names[0]: data.to_numpy()})
        elif isinstance(data, Mapping):
            frame = _frame_from_columns(data)
        elif isinstance(data, np.ndarray) or (
            isinstance(data, Sequence) and not isinstance(data, str | bytes)
        ):
            frame = self._frame_from_rows(data)
        else:
            raise SchemaMismatch(
                f"expected a table (DataFrame, columns, records or 2-D array), got "
                f"{type(data).__name__}"
            )
        frame = _str_columns(frame)
        if frame.shape[0] == 0:
            raise SchemaMismatch("no rows given")
        self.check(frame)
        return frame[self.names] if list(frame.columns) != self.names else frame

    def _frame_from_tensors(self, data: object) -> pd.DataFrame:
        """``{input: batch}`` (or, for one input, the batch itself: an array or nested
        lists) → one column per input holding each row's array."""
        if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
            data = {n: [r.get(n) for r in data] for n in self.names}  # records
        if not isinstance(data, Mapping):
            if len(self.inputs) != 1:
                raise SchemaMismatch(f"the model takes {len(self.inputs)} tensors: name each")
            data = {self.names[0]: data}
        columns = {}
        for name, batch in data.items():
            try:
                array = np.asarray(batch)
            except ValueError:
                raise SchemaMismatch(f"feature {str(name)!r}: ragged nested lists") from None
            if array.ndim == 0 or array.dtype.kind not in "biuf":
                raise SchemaMismatch(
                    f"feature {str(name)!r}: expected a batch of numeric arrays, rows first"
                )
            column = np.empty(array.shape[0], dtype=object)
            column[:] = list(array)
            columns[str(name)] = column
        return _frame_from_columns(columns)

    def _frame_from_rows(self, data: Sequence[Any] | np.ndarray) -> pd.DataFrame:
        if len(data) == 0:
            raise SchemaMismatch("no rows given")
        if isinstance(data, Sequence) and all(isinstance(r, Mapping) for r in data):
            return pd.DataFrame.from_records(list(data))
        array = np.asarray(data, dtype=object) if not isinstance(data, np.ndarray) else data
        if array.ndim == 1 and self.input_format == "column":
            array = array.reshape(-1, 1)  # a list of values is a list of rows here
        if array.ndim == 1:
            array = array.reshape(1, -1)
        if array.ndim != 2:
            raise SchemaMismatch(f"expected 2-D rows, got {array.ndim} dimensions")
        if array.shape[1] != len(self.inputs):
            raise SchemaMismatch(
                f"rows have {array.shape[1]} values, the model takes {len(self.inputs)}",
                [{"row": None, "feature": None, "rule": "row width"}],
            )
        return pd.DataFrame(array, columns=self.names)

    # -- validation ------------------------------------------------------------------------

    def problems(self, frame: pd.DataFrame) -> list[dict[str, object]]:
        """Every way ``frame`` breaks the signature, as ``{row, feature, rule}`` (first 100)."""
        found: list[dict[str, object]] = []
        frame = _str_columns(frame)
        columns = list(frame.columns)
        known = set(self.names)
        for name in self.names:
            if name not in columns:
                found.append({"row": None, "feature": name, "rule": "missing feature"})
        for name in columns:
            if name not in known:
                found.append({"row": None, "feature": name, "rule": "unknown feature"})
        duplicated = sorted({c for c in columns if columns.count(c) > 1})
        for name in duplicated:
            found.append({"row": None, "feature": name, "rule": "duplicate feature"})
        for spec in self.inputs:
            if spec.name in columns and spec.name not in duplicated and len(found) < MAX_PROBLEMS:
                found.extend(_column_problems(spec, frame[spec.name]))
        return found[:MAX_PROBLEMS]

    def check(self, frame: pd.DataFrame) -> None:
        found = self.problems(frame)
        if found:
            first = found[0]
            where = f" in row {first['row']}" if first["row"] is not None else ""
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            raise SchemaMismatch(
                f"feature {first['feature']!r}{where}: {first['rule']}{more}", found
            )


def _spec_dict(spec: FeatureSpec) -> dict[str, Any]:
    """A feature as stored: tensor fields only on tensors, so other signatures stay as
    they were stored before tensors existed."""
    data = asdict(spec)
    if spec.kind != TENSOR:
        del data["dtype"], data["shape"]
    return data


def _str_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Column labels as strings, like signatures name features (``0`` is feature ``"0"``)."""
    if all(isinstance(c, str) for c in frame.columns):
        return frame
    return frame.rename(columns=str)


def _frame_from_columns(data: Mapping[Any, Any]) -> pd.DataFrame:
    lengths = {len(v) if isinstance(v, Sequence | np.ndarray) else -1 for v in data.values()}
    if -1 in lengths:
        raise SchemaMismatch("columns must map each feature to a list of values")
    if len(lengths) > 1:
        raise SchemaMismatch(f"columns have different lengths: {sorted(lengths)}")
    return pd.DataFrame({str(k): list(v) for k, v in data.items()})


def _column_problems(spec: FeatureSpec, column: pd.Series) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []

    def add(mask: np.ndarray, rule: str) -> None:
        for row in np.flatnonzero(mask)[: MAX_PROBLEMS - len(out)]:
            out.append({"row": int(row), "feature": spec.name, "rule": rule})

    if spec.kind == TENSOR:
        for row, rule in _tensor_problems(spec, column):
            out.append({"row": row, "feature": spec.name, "rule": rule})
            if len(out) >= MAX_PROBLEMS:
                break
        return out
    missing = column.isna().to_numpy()
    if spec.numeric:
        values, wrong_type = _as_real_numbers(column, missing, spec.kind == "bool")
        add(wrong_type, f"expected a number ({spec.kind})")
        infinite = np.isinf(values)
        add(infinite, "value is not finite")
        if not spec.nullable:
            add(missing, "null not allowed")
    else:
        if not spec.nullable:
            add(missing, "null not allowed")
        if spec.strings_only:
            strings = np.fromiter(
                (isinstance(v, str) for v in column.to_numpy(dtype=object)), bool, len(column)
            )
            add(~strings & ~missing, f"expected a string ({spec.kind})")
        if spec.categories is not None:
            present = ~missing
            seen = column[present].astype(str).isin(spec.categories).to_numpy()
            unseen = np.zeros(len(column), dtype=bool)
            unseen[np.flatnonzero(present)[~seen]] = True
            add(unseen, "category never seen in training")
    return out


def _tensor_problems(spec: FeatureSpec, column: pd.Series) -> Iterator[tuple[int, str]]:
    """Each row's array against the tensor's dtype and shape (None: any size there)."""
    dims = spec.shape or ()
    wanted = np.dtype(spec.dtype or "float32")
    expected = "[" + ", ".join(["N", *("?" if d is None else str(d) for d in dims)]) + "]"
    for row, value in enumerate(column.to_numpy(dtype=object)):
        try:
            array = np.asarray(value)
        except ValueError:
            yield row, "ragged nested lists"
            continue
        shape_ok = array.ndim == len(dims) and all(
            d is None or d == n for d, n in zip(dims, array.shape, strict=True)
        )
        if not shape_ok:
            given = "[" + ", ".join(["N", *map(str, array.shape)]) + "]"
            yield row, f"shape {given}, the model takes {expected}"
        elif array.dtype.kind not in "biuf" or (array.dtype.kind == "b" and wanted.kind != "b"):
            yield row, f"expected {wanted.name} values"
        elif (
            wanted.kind in "iu" and array.dtype.kind == "f" and not np.all(array == np.round(array))
        ):
            yield row, f"expected whole numbers ({wanted.name})"
        elif array.dtype.kind == "f" and not np.isfinite(array).all():
            yield row, "value is not finite"


def _as_real_numbers(
    column: pd.Series, missing: np.ndarray, bools_allowed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Float values of a column and a mask of entries that are not real numbers (a bool is
    a number only for a bool feature: JSON ``true`` for a price is a mistake)."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) and not bools_allowed:
        return np.zeros(len(column)), ~missing
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    ):
        return column.to_numpy(dtype=float, na_value=np.nan), np.zeros(len(column), dtype=bool)

    def real(value: object) -> float:
        if isinstance(value, bool | np.bool_):
            return float(value) if bools_allowed else np.nan
        if isinstance(value, int | float | np.integer | np.floating):
            return float(value)
        return np.nan

    values = np.fromiter(
        (real(v) for v in column.to_numpy(dtype=object)), dtype=float, count=len(column)
    )
    return values, np.isnan(values) & ~missing


# -- inference -------------------------------------------------------------------------------


def infer_signature(
    sample: pd.DataFrame,
    *,
    input_format: str,
    output_kind: str,
    classes: Sequence[Any] | None,
    has_proba: bool,
    output_width: int = 1,
    kinds: Mapping[str, str] | None = None,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> Signature:
    """``kinds``: a kind per column that inference must not guess (what the model says, or
    the user); ``categories``: the values a closed column's model accepts, when it says."""
    if sample.shape[0] == 0:
        raise SchemaMismatch("the sample has no rows; a signature needs at least one")
    kinds, categories = kinds or {}, categories or {}
    inputs = tuple(
        _infer_feature(str(name), sample[name], kinds.get(str(name)), categories.get(str(name)))
        for name in sample.columns
    )
    output = OutputSpec(
        kind=output_kind,
        classes=tuple(to_plain(c) for c in classes) if classes is not None else None,
        has_proba=has_proba,
        width=output_width,
    )
    return Signature(inputs=inputs, output=output, input_format=input_format)


def _infer_feature(
    name: str, column: pd.Series, kind: str | None, known: Sequence[str] | None
) -> FeatureSpec:
    nullable = bool(column.isna().any())
    dtype = column.dtype
    if kind is not None:
        _check_kind_holds(name, kind, column)
    if kind == BOOL or (kind is None and pd.api.types.is_bool_dtype(dtype)):
        return FeatureSpec(name, BOOL, nullable, 0.0, 1.0)
    if kind in (FLOAT, INT) or (kind is None and pd.api.types.is_numeric_dtype(dtype)):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        finite = values[np.isfinite(values)]
        integer = kind == INT or (kind is None and pd.api.types.is_integer_dtype(dtype))
        lo = float(finite.min()) if finite.size else None
        hi = float(finite.max()) if finite.size else None
        return FeatureSpec(name, INT if integer else FLOAT, nullable, lo, hi)
    present = column.dropna()
    if isinstance(dtype, pd.CategoricalDtype) and kind in (None, CLOSED):
        # Fitted on a pandas category: the dtype's categories are the set it knows.
        known = known or [str(c) for c in dtype.categories]
    if kind == CLOSED or (kind is None and known is not None):
        values = sorted({*(known or ()), *present.astype(str).unique()})
        return FeatureSpec(name, CLOSED, nullable, categories=tuple(values))
    if kind is None:
        kind = TEXT if _looks_like_text(present.astype(str)) else OPEN
    return FeatureSpec(name, kind, nullable)


def _looks_like_text(present: pd.Series) -> bool:
    """Long or high-cardinality strings: many distinct values, long ones, or mostly distinct
    ones in a sample big enough to tell."""
    if present.empty:
        return False
    distinct = present.nunique()
    if distinct > MAX_CATEGORIES or float(present.str.len().mean()) >= TEXT_MEAN_LENGTH:
        return True
    return len(present) >= TEXT_MIN_ROWS and distinct > TEXT_DISTINCT_SHARE * len(present)


def _check_kind_holds(name: str, kind: str, column: pd.Series) -> None:
    """A kind the user chose must hold the sample's values: numbers for numeric kinds,
    strings for the string kinds."""
    dtype = column.dtype
    numbers = pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    present = column.dropna()
    if kind in NUMERIC_KINDS:
        if not numbers:
            raise SchemaMismatch(
                f"feature {name!r}: kind {kind!r} cannot hold the sample's values "
                f"({dtype.name} values such as {str(present.iloc[0])[:40]!r})"
                if not present.empty
                else f"feature {name!r}: kind {kind!r} cannot hold a column of {dtype.name}"
            )
        values = column.to_numpy(dtype=float, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if kind == INT and not np.array_equal(finite, np.round(finite)):
            raise SchemaMismatch(f"feature {name!r}: kind 'int' cannot hold fractional values")
        if kind == BOOL and not np.isin(finite, (0.0, 1.0)).all():
            raise SchemaMismatch(f"feature {name!r}: kind 'bool' holds only 0/1 or true/false")
        return
    if numbers or not all(isinstance(v, str) for v in present.to_numpy(dtype=object)):
        raise SchemaMismatch(
            f"feature {name!r}: kind {kind!r} holds strings; the sample has {dtype.name} values"
        )


def to_plain(value: Any) -> Any:
    """numpy scalars to plain Python, so signatures and profiles serialise as JSON."""
    if isinstance(value, np.generic):
        return value.item()
    return value
