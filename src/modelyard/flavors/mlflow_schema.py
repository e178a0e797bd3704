"""An MLflow signature and input example, in modelyard's terms.

MLflow's signature says each input's type and whether it is required; modelyard's adds
what a sample shows (ranges, and categories for closed sets). The input example becomes
the registration sample, and the signature decides the kinds: a string column is open
text here (MLflow does not say a set is closed), numbers keep the type MLflow wrote.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.kinds import OPEN, STRING_KINDS
from modelyard.domain.signature import FeatureSpec, Signature
from modelyard.errors import InvalidInput, NotFound, SchemaMismatch, UnsupportedModel
from modelyard.flavors.mlflow_model import MLMODEL, inside

MAX_EXAMPLE_BYTES = 50_000_000
# MLflow column types → modelyard feature kinds. MLflow says only "string"; whether that is a
# closed category, an open one or text is what the model and the example say (inference).
COLUMN_KINDS = {
    "double": "float",
    "float": "float",
    "long": "int",
    "integer": "int",
    "boolean": "bool",
    "string": OPEN,
}
TENSOR_KINDS = {"f": "float", "i": "int", "u": "int", "b": "bool"}


@dataclass(frozen=True)
class Declared:
    """The inputs an MLflow signature declares: one spec per feature, matched to the
    inferred signature by name (columns) or by position (the columns of one 2-D tensor)."""

    features: tuple[FeatureSpec, ...]
    positional: bool
    dtype: str | None = None  # the numpy dtype of a tensor input

    def apply(self, inferred: Signature) -> Signature:
        """The signature inferred from the sample, with MLflow's kinds and nullability."""
        if not self.features:  # a tensor of unknown width: the sample told everything
            return inferred
        if self.positional:
            if len(self.features) != len(inferred.inputs):
                raise SchemaMismatch(
                    f"the MLflow signature declares {len(self.features)} columns, the model "
                    f"takes {len(inferred.inputs)}"
                )
            pairs = list(zip(inferred.inputs, self.features, strict=True))
        else:
            by_name = {f.name: f for f in self.features}
            missing = [s.name for s in inferred.inputs if s.name not in by_name]
            if missing:
                raise SchemaMismatch(
                    f"the MLflow signature does not declare the model's feature {missing[0]!r}"
                )
            pairs = [(s, by_name[s.name]) for s in inferred.inputs]
        return replace(inferred, inputs=tuple(_merged(s, d) for s, d in pairs), _index={})

    def without_sample(self, inferred: Signature) -> Signature:
        """The signature from MLflow's declaration where no example gives one."""
        names = [s.name for s in inferred.inputs]
        if len(names) != len(self.features):
            return inferred
        specs = tuple(
            replace(d, name=n) if self.positional else d
            for n, d in zip(names, self.features, strict=True)
        )
        return replace(inferred, inputs=specs, _index={})


def _merged(inferred: FeatureSpec, declared: FeatureSpec) -> FeatureSpec:
    nullable = declared.nullable or inferred.nullable
    if declared.kind == OPEN:
        if inferred.kind in STRING_KINDS:  # closed only where the model refuses new values
            return replace(inferred, nullable=nullable)
        return FeatureSpec(inferred.name, OPEN, nullable)
    return replace(inferred, kind=declared.kind, nullable=nullable, categories=None)


def declared_inputs(root: Path, document: Mapping[str, Any]) -> Declared | None:
    """What the ``MLmodel``'s signature declares of the inputs (None without a signature)."""
    signature = document.get("signature")
    if not isinstance(signature, dict) or signature.get("inputs") in (None, ""):
        return None
    specs = _json_field(root, signature["inputs"], "signature inputs")
    if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs) or not specs:
        raise InvalidInput(f"{root / MLMODEL}: signature inputs must be a list of specs")
    if all(s.get("type") != "tensor" for s in specs):
        return Declared(tuple(_column(i, s) for i, s in enumerate(specs)), positional=False)
    if any(s.get("type") != "tensor" for s in specs):
        raise UnsupportedModel("the MLflow signature mixes column and tensor specs")
    return _tensors(specs)


def _column(index: int, spec: Mapping[str, Any]) -> FeatureSpec:
    name = str(spec.get("name", index))
    kind = COLUMN_KINDS.get(str(spec.get("type")))
    if kind is None:
        raise UnsupportedModel(
            f"MLflow signature: column {name!r} has type {spec.get('type')!r}, which modelyard "
            f"cannot map yet (it maps {', '.join(COLUMN_KINDS)})"
        )
    return FeatureSpec(name, kind, nullable=not spec.get("required", True))


def _tensors(specs: list[dict[str, Any]]) -> Declared:
    parsed = []
    for spec in specs:
        tensor = spec.get("tensor-spec")
        if not isinstance(tensor, dict) or not isinstance(tensor.get("shape"), list):
            raise InvalidInput("MLflow signature: a tensor spec without tensor-spec/shape")
        name = str(spec.get("name", "input"))
        try:
            dtype = np.dtype(str(tensor.get("dtype")))
        except TypeError:
            raise UnsupportedModel(
                f"MLflow signature: tensor {name!r} has dtype {tensor.get('dtype')!r}"
            ) from None
        kind = TENSOR_KINDS.get(dtype.kind)
        if kind is None:
            raise UnsupportedModel(
                f"MLflow signature: tensor {name!r} of {dtype} cannot be mapped yet (numbers "
                "and booleans can; string tensors wait for the text feature kind)"
            )
        parsed.append((name, dtype, [int(d) for d in tensor["shape"]], kind))
    if len(parsed) == 1 and len(parsed[0][2]) == 2 and parsed[0][2][0] == -1:
        name, dtype, shape, kind = parsed[0]
        if shape[1] < 0:  # width unknown: the model and the example tell
            return Declared((), positional=True, dtype=dtype.name)
        features = tuple(FeatureSpec(f"f{i}", kind, nullable=False) for i in range(shape[1]))
        return Declared(features, positional=True, dtype=dtype.name)
    if all(shape in ([-1], [-1, 1]) for _, _, shape, _ in parsed):
        features = tuple(FeatureSpec(n, k, nullable=False) for n, _, _, k in parsed)
        return Declared(features, positional=False)
    name, _, shape, _ = next((p for p in parsed if p[2] not in ([-1], [-1, 1])), parsed[0])
    raise UnsupportedModel(
        f"MLflow signature: tensor {name!r} of shape {shape} cannot be mapped yet: modelyard "
        "signatures are tables (rows × features); N-d tensor inputs wait for the tensor kind"
    )


def read_input_example(
    root: Path, document: Mapping[str, Any], declared: Declared | None
) -> pd.DataFrame | np.ndarray | None:
    """The saved input example as a sample (None when the model has none)."""
    info = document.get("saved_input_example_info")
    if not isinstance(info, dict):
        return None
    path = inside(root, info.get("artifact_path"), "saved_input_example_info artifact_path")
    if not path.is_file():
        raise NotFound(f"{root / MLMODEL}: input example {path.name}: no such file")
    if path.stat().st_size > MAX_EXAMPLE_BYTES:
        raise InvalidInput(f"{path}: larger than {MAX_EXAMPLE_BYTES:,} bytes")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not JSON: {exc}") from None
    kind = info.get("type")
    if kind == "dataframe":
        return _typed(_frame(path, data), declared)
    if kind == "ndarray":
        if isinstance(data, dict) and "inputs" in data and len(data) == 1:
            data = data["inputs"]
        if isinstance(data, dict):  # named tensors, one feature each
            return _typed(
                _frame(path, {k: np.ravel(v).tolist() for k, v in data.items()}), declared
            )
        dtype = declared.dtype if declared is not None and declared.dtype else None
        try:
            return np.asarray(data, dtype=dtype)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"{path}: not an array: {exc}") from None
    raise UnsupportedModel(
        f"{root / MLMODEL}: an input example of type {kind!r} cannot be a sample (dataframe "
        "and ndarray can)"
    )


def _frame(path: Path, data: object) -> pd.DataFrame:
    """``split`` ({columns, data, index}), ``records`` ([{...}]) or columns ({name: [...]})."""
    if isinstance(data, dict) and "data" in data and "columns" in data:
        return pd.DataFrame(data["data"], columns=[str(c) for c in data["columns"]])
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return pd.DataFrame.from_records(data)
    if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):
        return pd.DataFrame({str(k): v for k, v in data.items()})
    raise InvalidInput(f"{path}: not a table in split, records or columns orientation")


def _typed(frame: pd.DataFrame, declared: Declared | None) -> pd.DataFrame:
    """Each column as the type MLflow declared (JSON writes 1.0 as 1: still a double)."""
    if declared is None or declared.positional:
        return frame
    for spec in declared.features:
        if spec.name not in frame.columns:
            continue
        column = frame[spec.name]
        try:
            if spec.kind == "float":
                frame[spec.name] = pd.to_numeric(column).astype("float64")
            elif spec.kind == "int" and not column.isna().any():
                frame[spec.name] = pd.to_numeric(column).astype("int64")
            elif spec.kind == "bool" and not column.isna().any():
                frame[spec.name] = column.astype(bool)
        except (ValueError, TypeError):
            raise SchemaMismatch(
                f"input example column {spec.name!r} is not {spec.kind} as the MLflow "
                "signature declares"
            ) from None
    return frame


def _json_field(root: Path, value: object, what: str) -> object:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise InvalidInput(f"{root / MLMODEL}: {what} is not JSON: {exc}") from None
