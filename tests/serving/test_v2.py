"""Open Inference Protocol v2 decoding: tensors to validated columns, errors naming the tensor."""

import re

import numpy as np
import pytest

from modelyard.domain.signature import FeatureSpec, OutputSpec, Signature
from modelyard.errors import SchemaMismatch
from modelyard.runtime.inputs import from_columns
from modelyard.serving.v2 import _requested_outputs, count_rows, decode

NUMBERS = Signature(
    (
        FeatureSpec("a", "float", False),
        FeatureSpec("b", "float", False),
        FeatureSpec("c", "int", False),
    ),
    OutputSpec("classification", (0, 1), True, 2),
)
MIXED = Signature(
    (
        FeatureSpec("x", "float", False),
        FeatureSpec("colour", "category", False, categories=("red", "blue")),
    ),
    OutputSpec("regression"),
)


def matrix(shape: list[int], data: list[object], datatype: str = "FP64") -> dict[str, object]:
    return {"inputs": [{"name": "input-0", "shape": shape, "datatype": datatype, "data": data}]}


def test_an_n_by_f_tensor_becomes_one_float_matrix_in_row_major_order() -> None:
    columns = decode(NUMBERS, matrix([2, 3], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    assert columns.numbers is not None
    np.testing.assert_array_equal(columns.numbers, [[1, 2, 3], [4, 5, 6]])
    assert (columns.names, columns.rows) == (("a", "b", "c"), 2)


@pytest.mark.parametrize(
    "data",
    [[1, 2, 3, 4, 5, 6], [1.0, 2, 3, 4.5, 5, 6], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]],
)
def test_ints_mixed_values_and_nested_rows_decode_as_the_columns_would(data) -> None:
    flat = np.array(data, dtype=object).reshape(-1).tolist()
    expected = from_columns(NUMBERS, {n: flat[i::3] for i, n in enumerate("abc")})
    columns = decode(NUMBERS, matrix([2, 3], data))
    for name in "abc":
        np.testing.assert_array_equal(columns.column(name), expected.column(name))
        assert columns.column(name).dtype == expected.column(name).dtype


def test_one_tensor_per_feature_with_bytes_for_categories() -> None:
    payload = {
        "inputs": [
            {"name": "x", "shape": [2, 1], "datatype": "FP64", "data": [[0.5], [1.5]]},
            {"name": "colour", "shape": [2], "datatype": "BYTES", "data": ["red", "blue"]},
        ]
    }
    columns = decode(MIXED, payload)
    assert columns.column("colour").tolist() == ["red", "blue"]
    assert columns.column("x").tolist() == [0.5, 1.5]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"inputs": []}, "non-empty 'inputs' list"),
        (matrix([2, 2], [1.0, 2.0, 3.0, 4.0]), "has 2 columns; the model takes 3"),
        (matrix([2, 3], [1.0] * 5), r"needs 6 values, got 5"),
        (matrix([1, 3], ["a", "b", "c"], "BYTES"), "must be numeric"),
        (matrix([0, 3], []), "no rows given"),
        (matrix([1, 3, 1], [1.0] * 3), r"must be \[N\] or \[N, F\]"),
        (matrix([1, 3], [1.0] * 3, "FP128"), "is not a v2 datatype"),
    ],
)
def test_malformed_tensors_are_refused_with_the_reason(payload, message) -> None:
    with pytest.raises(SchemaMismatch, match=message):
        decode(NUMBERS, payload)


def test_non_finite_or_boolean_values_go_to_the_full_check() -> None:
    with pytest.raises(SchemaMismatch, match="a"):
        decode(NUMBERS, matrix([1, 3], [True, 2.0, 3.0]))


def test_the_same_tensor_named_twice_is_refused() -> None:
    tensor = {"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]}
    with pytest.raises(SchemaMismatch, match=r"more than once: \['x'\]"):
        decode(MIXED, {"inputs": [tensor, tensor]})


def test_rows_are_counted_from_the_declared_shapes_before_decoding() -> None:
    assert count_rows(matrix([7, 3], [])) == 7
    assert count_rows({"inputs": "nope"}) == 0
    assert count_rows([]) == 0


def test_requested_outputs_are_checked() -> None:
    assert _requested_outputs({}) is None
    assert _requested_outputs({"outputs": [{"name": "predict"}]}) == {"predict"}
    with pytest.raises(SchemaMismatch, match="unknown outputs"):
        _requested_outputs({"outputs": [{"name": "explain"}]})


def binary(shape: list[int], values: np.ndarray, datatype: str) -> dict[str, object]:
    """A tensor as binary HTTP and gRPC hand it on: an array over the request's bytes."""
    data = np.frombuffer(values.tobytes(), dtype=values.dtype)
    return {"name": "input-0", "shape": shape, "datatype": datatype, "data": data}


def test_a_binary_fp32_n_by_f_tensor_goes_straight_to_the_float_matrix() -> None:
    values = np.array([[1.5, 2.0, 3.0], [4.0, 5.25, 6.0]], dtype=np.float32)
    payload = {"inputs": [binary([2, 3], values, "FP32")]}
    columns = decode(NUMBERS, payload)
    assert columns.numbers is not None
    assert columns.numbers.dtype == np.float64
    as_json = decode(NUMBERS, matrix([2, 3], values.ravel().tolist(), "FP32"))
    np.testing.assert_array_equal(columns.numbers, as_json.numbers)


@pytest.mark.parametrize(
    ("array", "datatype"),
    [
        (np.array([3, 4], dtype=np.int32), "INT32"),
        (np.array([3, 4], dtype=np.uint8), "UINT8"),
        (np.array([0.5, 1.5], dtype=np.float32), "FP32"),
    ],
)
def test_binary_arrays_per_feature_decode_as_their_json_would(array, datatype) -> None:
    def payload(x: object, c: object) -> dict[str, object]:
        tensors = [("a", x), ("b", x), ("c", c)]
        return {
            "inputs": [
                {"name": n, "shape": [2], "datatype": datatype, "data": d} for n, d in tensors
            ]
        }

    ints = np.array([1, 2], dtype=np.int32)
    from_arrays = decode(NUMBERS, payload(array, ints))
    from_json = decode(NUMBERS, payload(array.tolist(), ints.tolist()))
    for name in "abc":
        np.testing.assert_array_equal(from_arrays.column(name), from_json.column(name))
        assert from_arrays.column(name).dtype == from_json.column(name).dtype


def test_a_bool_array_for_a_number_is_refused_as_json_bools_are() -> None:
    flags = np.array([True, False])
    tensors = [{"name": n, "shape": [2], "datatype": "BOOL", "data": flags} for n in "abc"]
    with pytest.raises(SchemaMismatch, match="expected a number"):
        decode(NUMBERS, {"inputs": tensors})


IMAGES = Signature(
    (FeatureSpec("image", "tensor", False, dtype="float32", shape=(3, 4)),),
    OutputSpec("regression"),
    input_format="tensor",
)


def test_a_tensor_array_reaches_the_model_as_views_of_itself() -> None:
    batch = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    tensor = {"name": "image", "shape": [2, 3, 4], "datatype": "FP32", "data": batch}
    column = decode(IMAGES, {"inputs": [tensor]}).column("image")
    assert [np.shares_memory(row, batch) for row in column] == [True, True]  # no copy
    np.testing.assert_array_equal(np.stack(column), batch)


@pytest.mark.parametrize(
    ("batch", "rule"),
    [
        (np.zeros((1, 3, 5), dtype=np.float32), r"'image' in row 0: shape \[N, 3, 5\]"),
        (np.full((1, 3, 4), np.inf, dtype=np.float32), "row 0: value is not finite"),
    ],
)
def test_a_tensor_array_that_breaks_a_row_rule_names_the_row(batch, rule) -> None:
    tensor = {"name": "image", "shape": list(batch.shape), "datatype": "FP32", "data": batch}
    with pytest.raises(SchemaMismatch) as refused:
        decode(IMAGES, {"inputs": [tensor]})
    assert re.search(rule, f"{refused.value} {refused.value.problems}") is not None


TOKENS = Signature(
    (FeatureSpec("ids", "tensor", False, dtype="int64", shape=(None,)),),
    OutputSpec("regression"),
    input_format="tensor",
)


@pytest.mark.parametrize(
    ("signature", "name", "datatype", "data"),
    [
        (TOKENS, "ids", "INT64", [[1.7, 2.2]]),  # numpy would truncate to [1, 2]
        (IMAGES, "image", "FP32", [[["1.5"] * 4] * 3]),  # or read the text as a number
        (TOKENS, "ids", "INT64", [[True, False]]),
    ],
)
def test_json_tensor_values_of_another_kind_are_refused_not_cast(
    signature, name, datatype, data
) -> None:
    shape = list(np.shape(data))
    tensor = {"name": name, "shape": shape, "datatype": datatype, "data": data}
    with pytest.raises(SchemaMismatch, match=f"not {datatype}"):
        decode(signature, {"inputs": [tensor]})


def test_a_shape_whose_size_overflows_64_bits_is_refused_not_an_error() -> None:
    tensor = {"name": "ids", "shape": [2**32, 2**32], "datatype": "INT64", "data": []}
    with pytest.raises(SchemaMismatch, match="needs 18446744073709551616 values"):
        decode(TOKENS, {"inputs": [tensor]})
    flat = {"name": "a", "shape": [2**32, 2**32], "datatype": "FP64", "data": []}
    with pytest.raises(SchemaMismatch, match="needs 18446744073709551616 values"):
        decode(NUMBERS, {"inputs": [flat]})
