"""An MLflow signature and input example, in modelyard's terms.

MLflow's signature says each input's type and whether it is required; modelyard's adds
what a sample shows (ranges, and categories for closed sets). The input example becomes
the registration sample, and the signature decides the kinds: a string column is open
text here (MLflow does not say a set is closed), numbers keep the type MLflow wrote. Tensor
specs of one value per row (``[-1]``, ``[-1, 1]``) or one table (``[-1, F]``) are columns;
any other (an image's ``[-1, 3, 32, 32]``) is a tensor input, which the model must take
with the same dtype and a shape that fits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.kinds import OPEN, STRING_KINDS, TENSOR
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
TENSOR_KINDS = {"f": "float", "i": "int", "u": "int", "b": "bool", "U": OPEN, "O": OPEN, "S": OPEN}


@dataclass(frozen=True)
class Declared:
    """The inputs an MLflow signature declares: one spec per feature, matched to the
    inferred signature by name (columns) or by position (the columns of one 2-D tensor)."""

    features: tuple[FeatureSpec, ...]
    positional: bool
    dtype: str | None = None  # the numpy dtype of a tensor input (when there is one)
    # Every tensor spec as a tensor feature (row shape, None where any size goes), for a
    # model that takes N-d tensors; ``features`` is empty where they cannot be a table.
    tensors: tuple[FeatureSpec, ...] = ()

    @property
    def takes_tensors(self) -> bool:
        """Only a model that takes N-d tensors fits (no spec can be read as a table)."""
        return bool(self.tensors) and not self.features and not self.positional

    def apply(self, inferred: Signature) -> Signature:
        """The signature inferred from the sample, with MLflow's kinds and nullability."""
        if inferred.has_tensors:
            return self._tensors_of(inferred)
        self._refuse_tensors_for_a_table()
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

    def _refuse_tensors_for_a_table(self) -> None:
        if self.takes_tensors:
            spec = self.tensors[0]
            shape = [-1, *(-1 if d is None else d for d in spec.shape or ())]
            raise UnsupportedModel(
                f"the MLflow signature declares the tensor {spec.name!r} of shape {shape}, "
                "but the model takes a table (rows × features)"
            )

    def _tensors_of(self, inferred: Signature) -> Signature:
        """The model's tensor inputs checked against MLflow's, by name (by position for
        one); a size MLflow fixes where the graph leaves it open is kept."""
        if not self.tensors:
            raise UnsupportedModel(
                "the MLflow signature declares table columns, but the model takes N-d tensors"
            )
        if len(self.tensors) != len(inferred.inputs):
            raise SchemaMismatch(
                f"the MLflow signature declares {len(self.tensors)} tensors, the model takes "
                f"{len(inferred.inputs)} ({', '.join(inferred.names)})"
            )
        by_name = {t.name: t for t in self.tensors}
        single = len(self.tensors) == 1
        merged = []
        for spec in inferred.inputs:
            declared = self.tensors[0] if single else by_name.get(spec.name)
            if declared is None:
                raise SchemaMismatch(f"the MLflow signature declares no tensor {spec.name!r}")
            merged.append(_merged_tensor(spec, declared))
        return replace(inferred, inputs=tuple(merged), _index={})

    def without_sample(self, inferred: Signature) -> Signature:
        """The signature from MLflow's declaration where no example gives one."""
        self._refuse_tensors_for_a_table()
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


def _merged_tensor(model: FeatureSpec, declared: FeatureSpec) -> FeatureSpec:
    given = [-1, *(-1 if d is None else d for d in declared.shape or ())]
    takes = [-1, *(-1 if d is None else d for d in model.shape or ())]
    if declared.dtype != model.dtype:
        raise SchemaMismatch(
            f"the MLflow signature declares tensor {model.name!r} as {declared.dtype}, "
            f"the model takes {model.dtype}"
        )
    fits = len(given) == len(takes) and all(
        a == b or a < 0 or b < 0 for a, b in zip(given, takes, strict=True)
    )
    if not fits:
        raise SchemaMismatch(
            f"the MLflow signature declares tensor {model.name!r} of shape {given}, "
            f"the model takes {takes}"
        )
    shape = tuple(
        m if m is not None else d
        for m, d in zip(model.shape or (), declared.shape or (), strict=True)
    )
    return replace(model, shape=shape)


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
                f"MLflow signature: tensor {name!r} of {dtype} cannot be mapped (numbers, "
                "booleans and strings can)"
            )
        try:
            shape = [int(d) for d in tensor["shape"]]
        except (TypeError, ValueError, KeyError):
            raise InvalidInput(
                f"MLflow signature: tensor {name!r} has shape {tensor.get('shape')!r}, not a "
                "list of whole numbers"
            ) from None
        if not shape or shape[0] != -1:
            raise UnsupportedModel(
                f"MLflow signature: tensor {name!r} of shape {shape} cannot be mapped: its "
                "first dimension must be -1, the batch of rows"
            )
        parsed.append((name, dtype, shape, kind))
    tensors = tuple(_tensor_feature(n, d, s, k) for n, d, s, k in parsed)
    dtype_name = parsed[0][1].name if len(parsed) == 1 else None
    if len(parsed) == 1 and len(parsed[0][2]) == 2:
        name, dtype, shape, kind = parsed[0]
        if shape[1] < 0:  # width unknown: the model and the example tell
            return Declared((), positional=True, dtype=dtype_name, tensors=tensors)
        features = tuple(FeatureSpec(f"f{i}", kind, nullable=False) for i in range(shape[1]))
        return Declared(features, positional=True, dtype=dtype_name, tensors=tensors)
    if all(shape in ([-1], [-1, 1]) for _, _, shape, _ in parsed):
        features = tuple(FeatureSpec(n, k, nullable=False) for n, _, _, k in parsed)
        return Declared(features, positional=False, dtype=dtype_name, tensors=tensors)
    for name, _, shape, kind in parsed:
        if kind == OPEN:
            raise UnsupportedModel(
                f"MLflow signature: string tensor {name!r} of shape {shape} cannot be mapped: "
                "tensor inputs hold numbers; strings come one per row ([-1] or [-1, 1]) or as "
                "a table ([-1, F])"
            )
    return Declared((), positional=False, dtype=dtype_name, tensors=tensors)


def _tensor_feature(name: str, dtype: np.dtype[Any], shape: list[int], kind: str) -> FeatureSpec:
    """One tensor spec as a tensor feature: its element type and the shape of one row."""
    shape_of_row = tuple(None if d < 0 else d for d in shape[1:])
    return FeatureSpec(name, TENSOR, False, dtype=dtype.name, shape=shape_of_row)


def read_input_example(
    root: Path, document: Mapping[str, Any], declared: Declared | None
) -> pd.DataFrame | np.ndarray | dict[str, np.ndarray] | None:
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
        if isinstance(data, dict) and declared is not None and declared.takes_tensors:
            return _named_tensors(path, data, declared)
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


def _named_tensors(path: Path, data: dict[str, Any], declared: Declared) -> dict[str, np.ndarray]:
    """``{input: batch}`` of N-d tensors, each as the dtype MLflow declared."""
    dtypes = {t.name: t.dtype for t in declared.tensors}
    try:
        return {str(k): np.asarray(v, dtype=dtypes.get(str(k))) for k, v in data.items()}
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{path}: not a batch of arrays: {exc}") from None


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
