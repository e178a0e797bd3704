"""The binary tensor data extension: splitting a body at its JSON header, decoding each
binary input, choosing binary outputs, and the response's header and bytes."""

import numpy as np
import orjson
import pytest

from modelyard.serving.binary import OutputTensor, binary_outputs, parse_binary, respond
from modelyard.serving.errors import HttpError


def body(inputs: list[dict[str, object]], *tails: bytes) -> tuple[bytes, str]:
    header = orjson.dumps({"inputs": inputs})
    return header + b"".join(tails), str(len(header))


def tensor(name: str, datatype: str, shape: list[int], size: int) -> dict[str, object]:
    return {
        "name": name,
        "datatype": datatype,
        "shape": shape,
        "parameters": {"binary_data_size": size},
    }


def test_binary_inputs_become_data_in_order_beside_json_ones() -> None:
    numbers = np.array([1.5, -2.0], dtype="<f4").tobytes()
    counts = np.array([7, 8], dtype="<i8").tobytes()
    raw, length = body(
        [
            tensor("a", "FP32", [2, 1], 8),
            {"name": "b", "datatype": "FP64", "shape": [2], "data": [0.5, 1.0]},
            tensor("c", "INT64", [2], 16),
        ],
        numbers,
        counts,
    )
    inputs = parse_binary(raw, length)["inputs"]
    assert [np.asarray(t["data"]).ravel().tolist() for t in inputs] == [
        [1.5, -2.0],
        [0.5, 1.0],
        [7, 8],
    ]
    assert inputs[0]["data"].shape == (2, 1)  # binary numbers: an array of the tensor's shape


@pytest.mark.parametrize(
    ("inputs", "tail", "length", "rule"),
    [
        ([tensor("a", "FP64", [1], 8)], bytes(9), None, "bytes after its JSON header.*add up to 8"),
        ([tensor("a", "FP64", [2], 16)], bytes(8), None, "'a': binary_data_size 16 goes past"),
        ([tensor("a", "FP64", [1], -1)], b"", None, "'a': parameters.binary_data_size must be"),
        ([tensor("a", "FP64", [1], 8)], bytes(8), "999", "from 1 to the body"),
        ([tensor("a", "FP64", [1], 8)], bytes(8), "0x10", "must be a number of bytes"),
        ([tensor("a", "INT9", [1], 8)], bytes(8), None, "'a': datatype 'INT9' cannot be read"),
        ([tensor("a", "INT32", [3], 8)], bytes(8), None, "'a': shape \\[3\\] of INT32 needs 12"),
        ([tensor("a", "INT32", [-1], 0)], b"", None, "'a': shape \\[-1\\] must be a list"),
        ([{**tensor("a", "FP64", [1], 8), "data": [1.0]}], bytes(8), None, "both data and"),
    ],
)
def test_bodies_that_do_not_add_up_are_400_naming_input_and_rule(
    inputs: list[dict[str, object]], tail: bytes, length: str | None, rule: str
) -> None:
    raw, declared = body(inputs, tail)
    with pytest.raises(HttpError, match=rule) as refused:
        parse_binary(raw, length or declared)
    assert refused.value.status == 400


def test_a_header_that_is_not_json_is_400() -> None:
    with pytest.raises(HttpError, match=r"first 3 bytes .* are not valid JSON"):
        parse_binary(b"{no" + bytes(8), "3")


def test_binary_outputs_follow_each_output_then_the_request_default() -> None:
    names = ["predict", "predict_proba"]
    assert binary_outputs({}, names) == set()
    assert binary_outputs({"parameters": {"binary_data_output": True}}, names) == set(names)
    asked = {
        "parameters": {"binary_data_output": True},
        "outputs": [{"name": "predict", "parameters": {"binary_data": False}}],
    }
    assert binary_outputs(asked, names) == {"predict_proba"}
    with pytest.raises(HttpError, match="binary_data_output must be true or false"):
        binary_outputs({"parameters": {"binary_data_output": "yes"}}, names)


def test_a_response_with_binary_outputs_puts_their_bytes_after_the_json_header() -> None:
    labels = OutputTensor("predict", "BYTES", np.array(["no", "yes"], dtype=object))
    proba = OutputTensor("predict_proba", "FP64", np.array([[0.25, 0.75], [1.0, 0.0]]))
    response = respond({"model_name": "m"}, [labels, proba], {"predict_proba"}, "m@2")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-modelyard-version"] == "m@2"
    assert int(response.headers["content-length"]) == len(response.body)
    length = int(response.headers["inference-header-content-length"])
    header = orjson.loads(response.body[:length])
    assert header["outputs"][0]["data"] == ["no", "yes"]
    assert header["outputs"][1]["parameters"] == {"binary_data_size": 32}
    assert np.frombuffer(response.body[length:], "<f8").tolist() == [0.25, 0.75, 1.0, 0.0]


def test_a_response_without_binary_outputs_is_plain_json() -> None:
    response = respond({}, [OutputTensor("predict", "INT64", np.array([1, 0]))], set(), "m@2")
    assert "inference-header-content-length" not in response.headers
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-modelyard-version"] == "m@2"
    assert orjson.loads(response.body)["outputs"][0]["data"] == [1, 0]


@pytest.mark.parametrize("declared", ["\u00b2", "1\u00b2", "\u0661"])  # latin-1 '²', Arabic 1
def test_a_header_length_of_digits_python_alone_counts_is_a_400(declared: str) -> None:
    with pytest.raises(HttpError, match="must be a number of bytes") as refused:
        parse_binary(b'{"inputs": []}', declared)
    assert refused.value.status == 400
