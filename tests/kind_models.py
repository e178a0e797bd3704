"""Real scikit-learn models over text and string categories, fitted on generated data:
a sentiment pipeline fitted on a list of sentences, and colour pipelines whose encoder
ignores (open) or refuses (closed) colours it was not fitted on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

GOOD = ["great", "love", "excellent", "lovely", "happy", "superb", "enjoyed"]
BAD = ["bad", "awful", "hate", "poor", "sad", "broken", "terrible"]
FILLER = ["the", "delivery", "product", "service", "was", "really", "quite", "today"]
COLOURS = ["red", "green", "blue", "yellow"]
# Never in any training data: the models must still answer them (or refuse, when closed).
NEW_SENTENCES = ["I love this lovely thing", "what an awful broken mess", "quite superb really"]
NEW_COLOUR = "purple"


def sentences(rows: int = 240, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, rows)
    texts = [
        " ".join([*rng.choice(FILLER, 3), *rng.choice(GOOD if label else BAD, 2), f"#{i}"])
        for i, label in enumerate(labels)
    ]
    return texts, labels


def text_model() -> tuple[Pipeline, list[str]]:
    """``make_pipeline(TfidfVectorizer(), LogisticRegression())`` fitted on a list of strings."""
    texts, labels = sentences()
    return make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels), texts


def colours(rows: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"color": rng.choice(COLOURS, rows), "size": rng.normal(0, 1, rows)})
    labels = ((frame["color"] == "red") | (frame["size"] > 1)).astype(int).to_numpy()
    return frame, labels


def colour_model(handle_unknown: str) -> tuple[Pipeline, pd.DataFrame]:
    """One-hot colour plus a number; ``handle_unknown="ignore"`` predicts for any colour,
    ``"error"`` raises on one it was not fitted on."""
    frame, labels = colours()
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown=handle_unknown), ["color"]), remainder="passthrough"
    )
    return make_pipeline(encode, LogisticRegression()).fit(frame, labels), frame


def plan_model(frame: pd.DataFrame, labels: Any) -> Pipeline:
    """LogisticRegression over ``frame``'s numbers, scaled, and its text ``plan`` column,
    one-hot with plans it was not fitted on ignored (open), fitted on ``labels``."""
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["plan"]), remainder=StandardScaler()
    )
    return make_pipeline(encode, LogisticRegression(max_iter=500)).fit(frame, labels)


def image_model() -> Any:
    """An ONNX image classifier built with the ``onnx`` helper API: ``image`` float32
    ``[N, 3, 32, 32]`` → ``label`` (argmax) and ``probabilities`` (softmax over 10)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = (rng.normal(size=(3 * 32 * 32, 10)) * 0.02).astype(np.float32)
    bias = rng.normal(size=10).astype(np.float32)
    nodes = [
        helper.make_node("Flatten", ["image"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["product"]),
        helper.make_node("Add", ["product", "b"], ["logits"]),
        helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "image",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10]),
        ],
        initializer=[numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "b")],
    )
    return _model(graph)


def sequence_model() -> Any:
    """An ONNX sequence classifier: ``tokens`` int64 ``[N, T]`` (any T) → mean of token
    embeddings → ``label`` and ``probabilities`` over 3 classes."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    embedding = rng.normal(size=(VOCABULARY, 4)).astype(np.float32)
    weights = rng.normal(size=(4, 3)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["E", "tokens"], ["embedded"]),
        helper.make_node("ReduceMean", ["embedded"], ["pooled"], axes=[1], keepdims=0),
        helper.make_node("MatMul", ["pooled", "W"], ["logits"]),
        helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "sequence",
        [helper.make_tensor_value_info("tokens", TensorProto.INT64, ["N", "T"])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3]),
        ],
        initializer=[
            numpy_helper.from_array(embedding, "E"),
            numpy_helper.from_array(weights, "W"),
        ],
    )
    return _model(graph)


VOCABULARY = 50


def images(rows: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, 3, 32, 32)).astype(np.float32)


def token_ids(rows: int, length: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, VOCABULARY, (rows, length), dtype=np.int64)


def run_onnx(model: Any, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """What onnxruntime itself answers: labels and probabilities."""
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    label, probabilities = session.run(["label", "probabilities"], feed)
    return np.asarray(label), np.asarray(probabilities)


def _model(graph: Any) -> Any:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
