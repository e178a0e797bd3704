"""ONNX models that take N-d tensors register with a tensor signature (dtype, row shape,
any batch size), are checked on shape and dtype, and predict what onnxruntime predicts."""

from __future__ import annotations

import numpy as np
import pytest
from tests.kind_models import image_model, images, run_onnx, sequence_model, token_ids

from modelyard import SchemaMismatch, Yard

pytest.importorskip("onnx")


def test_an_image_classifier_has_a_tensor_signature(sqlite_yard: Yard) -> None:
    model = image_model()
    version = sqlite_yard.register(model, "digits", sample=images(16))
    (image,) = version.signature["inputs"]
    assert (image["name"], image["kind"], image["dtype"]) == ("image", "tensor", "float32")
    assert image["shape"] == [3, 32, 32]
    assert version.signature["input_format"] == "tensor"
    assert version.signature["output"]["classes"] == list(range(10))
    batch = images(5, seed=3)
    labels, probabilities = run_onnx(model, {"image": batch})
    predictor = sqlite_yard.load("digits")
    np.testing.assert_array_equal(predictor.predict(batch), labels)
    np.testing.assert_allclose(predictor.predict_proba({"image": batch}), probabilities)
    assert sqlite_yard.profile(version.ref)["output"]["type"] == "categorical"


def test_a_sequence_model_takes_any_length_of_int64_tokens(sqlite_yard: Yard) -> None:
    model = sequence_model()
    version = sqlite_yard.register(model, "seq", sample=token_ids(8, 12))
    (tokens,) = version.signature["inputs"]
    assert (tokens["dtype"], tokens["shape"]) == ("int64", [None])
    predictor = sqlite_yard.load("seq")
    for length in (3, 40):
        batch = token_ids(4, length, seed=length)
        np.testing.assert_array_equal(
            predictor.predict(batch), run_onnx(model, {"tokens": batch})[0]
        )


def test_it_registers_without_a_sample_too(sqlite_yard: Yard) -> None:
    version = sqlite_yard.register(image_model(), "digits")
    assert version.signature["inputs"][0]["shape"] == [3, 32, 32]


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (images(2)[:, :2], r"row 0: shape \[N, 2, 32, 32\], the model takes \[N, 3, 32, 32\]"),
        (images(2)[:, 0], r"shape \[N, 32, 32\], the model takes \[N, 3, 32, 32\]"),
        (images(2) > 0, "expected float32 values"),
    ],
)
def test_wrong_rank_shape_or_dtype_is_refused(sqlite_yard: Yard, batch, message) -> None:
    sqlite_yard.register(image_model(), "digits", sample=images(4))
    with pytest.raises(SchemaMismatch, match=message):
        sqlite_yard.load("digits").predict(batch)


def test_a_sample_of_the_wrong_dtype_registers_nothing(sqlite_yard: Yard) -> None:
    fractions = token_ids(4, 5).astype(float) + 0.5
    with pytest.raises(
        SchemaMismatch, match=r"'tokens' in row 0: expected whole numbers \(int64\)"
    ):
        sqlite_yard.register(sequence_model(), "seq", sample=fractions)
    assert sqlite_yard.list_models() == []
