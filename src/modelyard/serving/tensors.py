"""Raw tensor bytes of the Open Inference Protocol, both ways.

The binary tensor data extension of v2 HTTP and the ``raw_input_contents`` /
``raw_output_contents`` of v2 gRPC carry a tensor the same way: little-endian, row major,
no padding; BOOL one byte per element; BYTES each element as a 4-byte little-endian length
followed by that many bytes. Both transports decode and encode through here, so a tensor
means the same thing on either.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

# v2 datatype → the little-endian numpy type of one element
DTYPES: dict[str, np.dtype[Any]] = {
    name: np.dtype(code)
    for name, code in (
        ("BOOL", "?"),
        ("UINT8", "u1"),
        ("UINT16", "<u2"),
        ("UINT32", "<u4"),
        ("UINT64", "<u8"),
        ("INT8", "i1"),
        ("INT16", "<i2"),
        ("INT32", "<i4"),
        ("INT64", "<i8"),
        ("FP16", "<f2"),
        ("FP32", "<f4"),
        ("FP64", "<f8"),
    )
}
DATATYPES = frozenset((*DTYPES, "BYTES"))
_LENGTH = struct.Struct("<I")


class TensorError(ValueError):
    """A tensor whose bytes do not match what it declares (the caller's mistake)."""


def check_shape(name: str, shape: object) -> list[int]:
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise TensorError(f"input {name!r}: shape {shape!r} must be a list of sizes >= 0")
    return shape


def from_raw(
    name: str, datatype: object, shape: list[int], raw: bytes | memoryview
) -> np.ndarray | list[str]:
    """One tensor's raw bytes as its elements: numbers as a numpy array of ``shape`` over
    the very bytes (``np.frombuffer``: no copy, no Python number per element), BYTES as a
    flat list of text (what the signature's string features take)."""
    count = math.prod(shape)
    if datatype == "BYTES":
        return [_text(name, e) for e in _bytes_elements(name, bytes(raw), count)]
    dtype = DTYPES.get(datatype) if isinstance(datatype, str) else None
    if dtype is None:
        raise TensorError(
            f"input {name!r}: datatype {datatype!r} cannot be read; "
            f"use one of {', '.join(sorted(DATATYPES))}"
        )
    needed = count * dtype.itemsize
    if len(raw) != needed:
        raise TensorError(
            f"input {name!r}: shape {shape} of {datatype} needs {needed} bytes "
            f"({count} × {dtype.itemsize}), got {len(raw)}"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def to_raw(values: np.ndarray, datatype: str) -> bytes:
    """One output tensor's raw bytes (``datatype`` as the response declares it)."""
    flat = values.reshape(-1)
    if datatype == "BYTES":
        parts = []
        for value in flat.tolist():
            encoded = value if isinstance(value, bytes) else str(value).encode()
            parts.append(_LENGTH.pack(len(encoded)))
            parts.append(encoded)
        return b"".join(parts)
    return np.ascontiguousarray(flat, dtype=DTYPES[datatype]).tobytes()


def _bytes_elements(name: str, raw: bytes, count: int) -> list[bytes]:
    elements: list[bytes] = []
    offset = 0
    size = len(raw)
    while offset < size:
        if offset + 4 > size:
            raise TensorError(
                f"input {name!r}: BYTES element {len(elements)} has a cut-off length prefix "
                "(each element is a 4-byte little-endian length, then the bytes)"
            )
        (length,) = _LENGTH.unpack_from(raw, offset)
        offset += 4
        if offset + length > size:
            raise TensorError(
                f"input {name!r}: BYTES element {len(elements)} says {length} bytes, "
                f"only {size - offset} remain"
            )
        elements.append(raw[offset : offset + length])
        offset += length
    if len(elements) != count:
        raise TensorError(
            f"input {name!r}: its shape needs {count} BYTES elements, got {len(elements)}"
        )
    return elements


def _text(name: str, element: bytes) -> str:
    try:
        return element.decode()
    except UnicodeDecodeError:
        raise TensorError(f"input {name!r}: a BYTES element is not UTF-8 text") from None
