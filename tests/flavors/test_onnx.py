"""ONNX flavor: graphs converted with skl2onnx, registered as objects and as files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from modelyard import UnsupportedModel, Yard

skl2onnx = pytest.importorskip("skl2onnx")

Data = tuple[pd.DataFrame, pd.Series]


@pytest.fixture(scope="module")
def features(cancer: Data) -> np.ndarray:
    return cancer[0].to_numpy(dtype=np.float32)


@pytest.fixture(scope="module")
def pipeline(cancer: Data, features: np.ndarray) -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(
        features, cancer[1]
    )


@pytest.fixture(scope="module")
def graph(pipeline: Pipeline, features: np.ndarray) -> object:
    return skl2onnx.to_onnx(pipeline, features[:1], options={"zipmap": False})


def assert_matches(yard: Yard, ref: str, pipeline: Pipeline, features: np.ndarray) -> None:
    predictor = yard.load(ref)
    assert predictor.flavor == "onnx"
    np.testing.assert_array_equal(predictor.predict(features), pipeline.predict(features))
    # onnxruntime computes in float32, scikit-learn in float64
    np.testing.assert_allclose(
        predictor.predict_proba(features), pipeline.predict_proba(features), atol=1e-5
    )


def test_register_model_proto(yard: Yard, graph: object, pipeline: Pipeline, features: np.ndarray):
    version = yard.register(graph, "churn-onnx", sample=features)
    assert version.flavor == "onnx"
    assert version.signature["output"]["kind"] == "classification"
    assert version.signature["output"]["has_proba"] is True
    assert [f["name"] for f in version.signature["inputs"]][:2] == ["f0", "f1"]
    assert_matches(yard, "churn-onnx@1", pipeline, features)


def test_register_onnx_file(
    sqlite_yard: Yard, graph: object, pipeline: Pipeline, features: np.ndarray, tmp_path: Path
):
    path = tmp_path / "churn.onnx"
    path.write_bytes(graph.SerializeToString())  # type: ignore[attr-defined]
    version = sqlite_yard.register_file(path, "churn-onnx", sample=features)
    assert version.flavor == "onnx"
    assert_matches(sqlite_yard, "churn-onnx", pipeline, features)


def test_corrupted_onnx_file_is_unsupported(sqlite_yard: Yard, graph: object, tmp_path: Path):
    path = tmp_path / "broken.onnx"
    data = graph.SerializeToString()  # type: ignore[attr-defined]
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnsupportedModel, match="not a valid ONNX model"):
        sqlite_yard.register_file(path, "broken")
    assert sqlite_yard.list_models() == []


def test_onnx_regressor_is_a_regression(sqlite_yard: Yard):
    frame, target = load_diabetes(return_X_y=True, as_frame=True)
    features = frame.to_numpy(dtype=np.float32)
    model = LinearRegression().fit(features, target)
    graph = skl2onnx.to_onnx(model, features[:1])
    version = sqlite_yard.register(graph, "sugar", sample=features)
    assert version.signature["output"]["kind"] == "regression"
    predictor = sqlite_yard.load("sugar")
    np.testing.assert_allclose(predictor.predict(features), model.predict(features), rtol=1e-4)
    with pytest.raises(UnsupportedModel, match="no predict_proba"):
        predictor.predict_proba(features)


def test_weights_in_an_external_data_file_are_stored_with_the_graph(
    sqlite_yard: Yard, tmp_path: Path
) -> None:
    """What mlflow.onnx and exporters write: weights in a file beside the graph."""
    import onnx
    from tests.kind_models import image_model, images, run_onnx

    model = image_model()
    batch = images(3, seed=2)
    labels, _ = run_onnx(model, {"image": batch})
    folder = tmp_path / "exported"
    folder.mkdir()
    onnx.save_model(model, folder / "image.onnx", save_as_external_data=True, location="w.bin")
    version = sqlite_yard.register_file(folder / "image.onnx", "images", sample=images(4))
    assert [f.name for f in version.files] == ["model.onnx"]  # one self-contained graph
    (folder / "w.bin").unlink()  # the yard's copy needs nothing beside it any more
    np.testing.assert_array_equal(sqlite_yard.load("images@1").predict(batch), labels)


def test_external_data_outside_the_graphs_folder_is_refused(
    sqlite_yard: Yard, tmp_path: Path
) -> None:
    import onnx
    from tests.kind_models import image_model

    model = image_model()
    onnx.save_model(model, tmp_path / "image.onnx", save_as_external_data=True, location="w.bin")
    moved = onnx.load(str(tmp_path / "image.onnx"), load_external_data=False)
    for tensor in moved.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../w.bin"
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "image.onnx").write_bytes(moved.SerializeToString())
    with pytest.raises(UnsupportedModel, match="external data cannot be read"):
        sqlite_yard.register_file(tmp_path / "inner" / "image.onnx", "images")
    assert sqlite_yard.list_models() == []
