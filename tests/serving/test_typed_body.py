"""The typed decode of v1 records agrees with the general path, and takes nothing odd."""

import json

import numpy as np
import pytest

from modelyard import Yard
from modelyard.runtime.inputs import from_records
from modelyard.serving.typed_body import decode_records


@pytest.fixture
def signature(sqlite_yard: Yard, logreg, cancer):
    sqlite_yard.register(logreg, "churn", sample=cancer[0])
    return sqlite_yard.load("churn@1").signature


def test_records_decode_to_the_matrix_the_general_path_makes(signature, cancer) -> None:
    records = cancer[0].iloc[:5].to_dict(orient="records")
    records[0]["mean radius"] = 14  # an integer is a number too
    typed = decode_records(signature, json.dumps({"instances": records}).encode())
    assert typed is not None
    assert typed.names == signature.feature_names
    np.testing.assert_array_equal(typed.matrix(), from_records(signature, records).matrix())


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.update({"mean radius": True}),  # a boolean is not taken as 1.0
        lambda r: r.update({"mean radius": None}),
        lambda r: r.update({"mean radius": "14.1"}),
        lambda r: r.update({"extra": 1.0}),
        lambda r: r.pop("mean radius"),
        lambda r: r.update({"mean radius": [1.0]}),
    ],
)
def test_anything_odd_is_left_to_the_general_path(signature, cancer, change) -> None:
    record = cancer[0].iloc[0].to_dict()
    change(record)
    assert decode_records(signature, json.dumps({"instances": [record]}).encode()) is None


@pytest.mark.parametrize(
    "raw",
    [
        b'{"instances": []}',
        b'{"inputs": {}}',
        b"[1, 2]",
        b'{"instances": [{}], "inputs": {}}',
        b"not json",
        b'{"instances": [{"mean radius": 1e999}]}',
    ],
)
def test_other_shapes_and_non_finite_numbers_are_left_too(signature, raw) -> None:
    assert decode_records(signature, raw) is None


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1" + "0" * 400])
def test_a_number_past_a_floats_range_is_left_for_the_general_path(
    signature, cancer, number
) -> None:
    record = cancer[0].iloc[0].to_dict()
    record["mean radius"] = 12345.5
    raw = json.dumps({"instances": [record]}).replace("12345.5", number).encode()
    assert decode_records(signature, raw) is None
