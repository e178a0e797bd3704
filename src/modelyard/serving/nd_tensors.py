"""v2 JSON for models that take N-d tensors: typed tensors in, one column per input out.

A tensor's datatype must be the model's (as a v2 server refuses ``FP64`` for an ``FP32``
input) and its shape the batch followed by the model's row shape. A well-formed batch is
confirmed as a whole and handed on as views of the decoded array (binary and gRPC tensors
arrive as numpy arrays over the request's bytes); anything else goes to the per-row check in
the signature, which names the first row that breaks it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from modelyard.domain.signature import FeatureSpec, Signature
from modelyard.errors import SchemaMismatch
from modelyard.runtime.inputs import Columns, from_checked_frame

_V2_OF_NUMPY = {
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "bool": "BOOL",
}
_NUMPY_OF_V2 = {v: k for k, v in _V2_OF_NUMPY.items()}
# the numpy kinds a JSON array may come as for each target kind: ints fit floats, and
# nothing but bools fits BOOL
_KINDS_FITTING = {"f": "biuf", "i": "iu", "u": "iu", "b": "b"}


def tensor_metadata(spec: FeatureSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "datatype": _V2_OF_NUMPY.get(spec.dtype or "", "FP32"),
        "shape": [-1, *(-1 if d is None else d for d in spec.shape or ())],
    }


def decode_tensors(signature: Signature, tensors: list[Any]) -> Columns:
    batches: dict[str, np.ndarray] = {}
    for index, tensor in enumerate(tensors):
        name, array = _decode_one(signature, tensor, f"inputs[{index}]")
        if name in batches:
            raise SchemaMismatch(f"inputs name the tensor {name!r} more than once")
        batches[name] = array
    missing = [n for n in signature.names if n not in batches]
    if missing:
        raise SchemaMismatch(f"missing input tensor {missing[0]!r}")
    rows = {a.shape[0] for a in batches.values()}
    if len(rows) > 1:
        raise SchemaMismatch(f"input tensors have different batch sizes: {sorted(rows)}")
    if 0 in rows:
        raise SchemaMismatch("no rows given")
    if all(_well_formed(spec, batches[spec.name]) for spec in signature.inputs):
        return Columns(signature.feature_names, rows.pop(), arrays=_per_row(batches))
    return from_checked_frame(signature, signature.to_frame(batches))  # raises the report


def _well_formed(spec: FeatureSpec, batch: np.ndarray) -> bool:
    """The row shape fits the model's (None: any size there) and floats are finite; the
    datatype and rank were checked when the tensor was decoded."""
    dims = spec.shape or ()
    if any(d is not None and d != n for d, n in zip(dims, batch.shape[1:], strict=True)):
        return False
    return batch.dtype.kind != "f" or bool(np.isfinite(batch).all())


def _per_row(batches: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each input as the column the model's frame holds: one view of the batch per row."""
    columns = {}
    for name, batch in batches.items():
        column = np.empty(batch.shape[0], dtype=object)
        column[:] = list(batch)
        columns[name] = column
    return columns


def _decode_one(signature: Signature, tensor: object, where: str) -> tuple[str, np.ndarray]:
    if not isinstance(tensor, dict):
        raise SchemaMismatch(f"{where} must be an object with name, shape, datatype, data")
    for field, kind in (("name", str), ("shape", list), ("datatype", str)):
        if not isinstance(tensor.get(field), kind):
            raise SchemaMismatch(f"{where}.{field} is missing or not a {kind.__name__}")
    if not isinstance(tensor.get("data"), list | np.ndarray):  # an array: binary or gRPC
        raise SchemaMismatch(f"{where}.data is missing or not a list")
    name, shape, datatype = tensor["name"], tensor["shape"], tensor["datatype"]
    if name not in signature.feature_set:
        raise SchemaMismatch(f"{where}: the model has no input {name!r} ({signature.names})")
    spec = signature.feature(name)
    if not shape or not all(type(d) is int and d >= 0 for d in shape):
        raise SchemaMismatch(f"input {name!r}: shape {shape} must be sizes >= 0, batch first")
    wanted = tensor_metadata(spec)
    if len(shape) != len(wanted["shape"]):
        raise SchemaMismatch(f"input {name!r}: shape {shape}, the model takes {wanted['shape']}")
    if datatype != wanted["datatype"]:
        raise SchemaMismatch(
            f"input {name!r}: datatype {datatype}, the model takes {wanted['datatype']}"
        )
    target = np.dtype(_NUMPY_OF_V2[datatype])
    try:
        given = np.asarray(tensor["data"])
        # numpy would cast 1.7 to an INT64 1 or the text "1.5" to an FP32 1.5: the values
        # must already be of the datatype's kind (ints are floats too, bools are bools)
        checked = given.dtype == target or not given.size  # binary and gRPC arrive typed
        if not checked and given.dtype.kind not in _KINDS_FITTING[target.kind]:
            raise TypeError
        if not checked and target.kind in "iu":
            bounds = np.iinfo(target)
            if given.min() < bounds.min or given.max() > bounds.max:
                raise OverflowError
        array = given.astype(target, copy=False)
    except (ValueError, TypeError, OverflowError):
        raise SchemaMismatch(f"input {name!r}: data holds values that are not {datatype}") from None
    needed = math.prod(shape)  # Python ints: numpy's product wraps around at 2**64
    if array.size != needed:
        raise SchemaMismatch(f"input {name!r}: shape {shape} needs {needed} values")
    return name, array.reshape(shape)
