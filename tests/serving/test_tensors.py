"""Raw tensor bytes: every v2 datatype both ways, and bytes that do not match their shape."""

import struct

import numpy as np
import pytest

from modelyard.serving.tensors import DTYPES, TensorError, from_raw, to_raw


@pytest.mark.parametrize("datatype", sorted(DTYPES))
def test_numbers_round_trip_little_endian_and_row_major(datatype: str) -> None:
    values = np.arange(6).reshape(2, 3).astype(DTYPES[datatype])
    raw = to_raw(values, datatype)
    assert raw == values.astype(DTYPES[datatype].newbyteorder("<")).tobytes()
    decoded = from_raw("x", datatype, [2, 3], raw)
    assert isinstance(decoded, np.ndarray)  # over the bytes, no Python number per element
    np.testing.assert_array_equal(decoded, values)


def test_bytes_are_length_prefixed_utf8() -> None:
    raw = to_raw(np.array(["a", "", "héllo"], dtype=object), "BYTES")
    assert raw == b"\x01\x00\x00\x00a" + b"\x00" * 4 + struct.pack("<I", 6) + "héllo".encode()
    assert from_raw("x", "BYTES", [3], raw) == ["a", "", "héllo"]


@pytest.mark.parametrize(
    ("datatype", "shape", "raw", "rule"),
    [
        ("FP32", [2, 3], bytes(20), "shape \\[2, 3\\] of FP32 needs 24 bytes"),
        ("BF16", [1], bytes(2), "datatype 'BF16' cannot be read"),
        (None, [1], bytes(2), "datatype None cannot be read"),
        ("BYTES", [2], struct.pack("<I", 1) + b"a", "needs 2 BYTES elements, got 1"),
        ("BYTES", [1], b"\x01\x00", "element 0 has a cut-off length prefix"),
        ("BYTES", [1], struct.pack("<I", 5) + b"ab", "element 0 says 5 bytes, only 2 remain"),
        ("BYTES", [1], struct.pack("<I", 1) + b"\xff", "not UTF-8"),
    ],
)
def test_bytes_that_do_not_match_their_tensor_are_refused_by_name(
    datatype: object, shape: list[int], raw: bytes, rule: str
) -> None:
    with pytest.raises(TensorError, match=f"input 'x': .*{rule}"):
        from_raw("x", datatype, shape, raw)
