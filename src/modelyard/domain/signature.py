"""Model signatures: what a model takes and gives, inferred once from a sample.

Inference and validation are vectorised over columns so the same code serves a
registration sample of 100k rows and a request of one row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import orjson
import pandas as pd

from modelyard.errors import SchemaMismatch

MAX_CATEGORIES = 1000
MAX_PROBLEMS = 100

FEATURE_KINDS = ("float", "int", "bool", "category", "string")


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    kind: str  # one of FEATURE_KINDS
    nullable: bool
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] | None = None

    @property
    def numeric(self) -> bool:
        return self.kind in ("float", "int", "bool")

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
    input_format: str = "dataframe"  # dataframe | array: what the model's own API expects
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
            "inputs": [asdict(f) for f in self.inputs],
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
        if isinstance(data, pd.DataFrame):
            frame = data
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

    def _frame_from_rows(self, data: Sequence[Any] | np.ndarray) -> pd.DataFrame:
        if len(data) == 0:
            raise SchemaMismatch("no rows given")
        if isinstance(data, Sequence) and all(isinstance(r, Mapping) for r in data):
            return pd.DataFrame.from_records(list(data))
        array = np.asarray(data, dtype=object) if not isinstance(data, np.ndarray) else data
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
        if spec.categories is not None:
            present = ~missing
            seen = column[present].astype(str).isin(spec.categories).to_numpy()
            unseen = np.zeros(len(column), dtype=bool)
            unseen[np.flatnonzero(present)[~seen]] = True
            add(unseen, "category never seen in training")
    return out


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
) -> Signature:
    if sample.shape[0] == 0:
        raise SchemaMismatch("the sample has no rows; a signature needs at least one")
    inputs = tuple(_infer_feature(str(name), sample[name]) for name in sample.columns)
    output = OutputSpec(
        kind=output_kind,
        classes=tuple(to_plain(c) for c in classes) if classes is not None else None,
        has_proba=has_proba,
        width=output_width,
    )
    return Signature(inputs=inputs, output=output, input_format=input_format)


def _infer_feature(name: str, column: pd.Series) -> FeatureSpec:
    nullable = bool(column.isna().any())
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return FeatureSpec(name, "bool", nullable, 0.0, 1.0)
    if pd.api.types.is_numeric_dtype(dtype):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        finite = values[np.isfinite(values)]
        kind = "int" if pd.api.types.is_integer_dtype(dtype) else "float"
        lo = float(finite.min()) if finite.size else None
        hi = float(finite.max()) if finite.size else None
        return FeatureSpec(name, kind, nullable, lo, hi)
    distinct = column.dropna().astype(str).unique()
    if len(distinct) <= MAX_CATEGORIES:
        return FeatureSpec(name, "category", nullable, categories=tuple(sorted(distinct)))
    return FeatureSpec(name, "string", nullable)


def to_plain(value: Any) -> Any:
    """numpy scalars to plain Python, so signatures and profiles serialise as JSON."""
    if isinstance(value, np.generic):
        return value.item()
    return value
