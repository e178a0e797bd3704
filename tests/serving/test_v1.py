"""Simple JSON decoding: records or columns, counted before they are decoded."""

import numpy as np
import pytest

from modelyard.domain.signature import FeatureSpec, OutputSpec, Signature
from modelyard.errors import SchemaMismatch
from modelyard.serving.v1 import count_rows, decode

SIGNATURE = Signature(
    (FeatureSpec("a", "float", False), FeatureSpec("b", "float", False)),
    OutputSpec("classification", (0, 1), True, 2),
)


def test_records_and_columns_decode_to_the_same_rows() -> None:
    records = decode(SIGNATURE, {"instances": [{"a": 1.0, "b": 2.0}, {"b": 4.0, "a": 3.0}]})
    columns = decode(SIGNATURE, {"inputs": {"b": [2.0, 4.0], "a": [1.0, 3.0]}})
    np.testing.assert_array_equal(records.matrix(), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(columns.matrix(), [[1, 2], [3, 4]])
    assert records.names == columns.names == ("a", "b")


@pytest.mark.parametrize(
    "payload",
    [{"instances": [], "inputs": {}}, {"rows": []}, {}],
)
def test_exactly_one_of_records_or_columns(payload) -> None:
    with pytest.raises(SchemaMismatch, match="exactly one of 'instances'"):
        decode(SIGNATURE, payload)


def test_the_body_must_be_an_object() -> None:
    with pytest.raises(SchemaMismatch, match="must be a JSON object"):
        decode(SIGNATURE, [1, 2])


def test_a_missing_feature_is_named() -> None:
    with pytest.raises(SchemaMismatch, match="b"):
        decode(SIGNATURE, {"instances": [{"a": 1.0}]})


@pytest.mark.parametrize(
    ("payload", "rows"),
    [
        ({"instances": [{}, {}, {}]}, 3),
        ({"inputs": {"a": [1, 2], "b": [1, 2, 3, 4]}}, 4),
        ({"inputs": {"a": "x"}}, 0),
        ("text", 0),
    ],
)
def test_rows_are_counted_before_decoding(payload, rows) -> None:
    assert count_rows(payload) == rows
