"""gRPC inference messages to the v2 JSON form and back: raw and typed contents, and the
refusals that name the input."""

import numpy as np
import pytest

from modelyard.serving.binary import OutputTensor
from modelyard.serving.grpc import oip_pb2 as pb
from modelyard.serving.grpc.codec import to_payload, to_response
from modelyard.serving.tensors import TensorError


def request_with(*inputs: tuple[str, str, list[int]]) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name="m", id="r1")
    for name, datatype, shape in inputs:
        request.inputs.add(name=name, datatype=datatype, shape=shape)
    return request


def test_raw_contents_become_data_one_entry_per_input() -> None:
    request = request_with(("x", "FP32", [2, 1]), ("colour", "BYTES", [2]))
    request.raw_input_contents.extend(
        [np.array([0.5, 1.5], "<f4").tobytes(), b"\x03\x00\x00\x00red\x04\x00\x00\x00blue"]
    )
    request.outputs.add(name="predict")
    request.parameters["binary_data_output"].bool_param = True
    payload = to_payload(request)
    x, colour = payload["inputs"]
    assert (x["name"], x["shape"], x["data"].dtype) == ("x", [2, 1], np.float32)
    np.testing.assert_array_equal(x["data"], [[0.5], [1.5]])  # an array over the bytes
    assert (colour["name"], colour["shape"], colour["data"]) == ("colour", [2], ["red", "blue"])
    assert payload["id"] == "r1"
    assert payload["outputs"] == [{"name": "predict"}]
    assert payload["parameters"] == {"binary_data_output": True}


def test_typed_contents_are_read_from_the_list_of_their_datatype() -> None:
    request = request_with(("n", "INT32", [3]), ("s", "BYTES", [1]))
    request.inputs[0].contents.int_contents.extend([1, 2, 3])
    request.inputs[1].contents.bytes_contents.append("é".encode())
    numbers, text = to_payload(request)["inputs"]
    assert numbers["data"].dtype == np.int32
    assert numbers["data"].tolist() == [1, 2, 3]
    assert text["data"] == ["é"]


@pytest.mark.parametrize(
    ("build", "rule"),
    [
        (lambda r: r.raw_input_contents.extend([b"", b""]), "2 entries for 1 inputs"),
        (lambda r: r.raw_input_contents.append(bytes(4)), "'x': shape \\[2\\] of FP64 needs 16"),
        (lambda r: r.inputs[0].contents.fp32_contents.extend([1.0, 2.0]), "contents.fp64_contents"),
        (
            lambda r: r.inputs[0].contents.fp64_contents.append(1.0),
            "needs 2 elements in contents.fp64_contents, got 1",
        ),
    ],
)
def test_contents_that_do_not_fit_are_refused_naming_the_input(build, rule: str) -> None:
    request = request_with(("x", "FP64", [2]))
    build(request)
    with pytest.raises(TensorError, match=rule):
        to_payload(request)


def test_fp16_has_no_typed_contents() -> None:
    with pytest.raises(TensorError, match="'h': datatype 'FP16' has no typed contents"):
        to_payload(request_with(("h", "FP16", [1])))


def test_the_response_carries_every_output_raw_and_the_prediction_ids() -> None:
    outputs = [
        OutputTensor("predict", "BYTES", np.array(["yes", "no"], dtype=object)),
        OutputTensor("predict_proba", "FP64", np.array([[0.2, 0.8], [0.9, 0.1]])),
    ]
    response = to_response("m", "3", "r1", outputs, ["a-0", "a-1"])
    assert [(o.name, o.datatype, list(o.shape)) for o in response.outputs] == [
        ("predict", "BYTES", [2]),
        ("predict_proba", "FP64", [2, 2]),
    ]
    assert response.raw_output_contents[0] == b"\x03\x00\x00\x00yes\x02\x00\x00\x00no"
    assert np.frombuffer(response.raw_output_contents[1], "<f8").tolist() == [0.2, 0.8, 0.9, 0.1]
    assert response.parameters["prediction_ids"].string_param == "a-0,a-1"
    assert (response.model_version, response.id) == ("3", "r1")


def test_typed_values_outside_their_datatype_are_refused() -> None:
    request = request_with(("small", "INT8", [2]))
    request.inputs[0].contents.int_contents.extend([1, 300])  # int_contents holds INT8 too
    with pytest.raises(
        TensorError, match=r"'small': contents\.int_contents holds values outside INT8"
    ):
        to_payload(request)
