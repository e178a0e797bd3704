"""MLflow model folders written by a real MLflow, for the import tests.

Each writer saves a model fitted here with a signature and an input example, as a user's
training script would. ``pip_requirements`` is given so MLflow does not start a process to
infer them (it still writes requirements.txt and conda.yaml).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

Data = tuple[pd.DataFrame, pd.Series]
COLUMNS = 5


@contextmanager
def quiet() -> Iterator[None]:
    """MLflow's own warnings (hints about integer columns, deprecations) are not ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def example_rows(X: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
    """Rows of both classes, so the example shows every class the model predicts."""
    return pd.concat([X[y == 0].head(4), X[y == 1].head(4)])


def small(cancer: Data) -> Data:
    X, y = cancer
    return X.iloc[:, :COLUMNS], y


def sklearn_pipeline(X: pd.DataFrame, y: pd.Series) -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)


def save_sklearn(
    path: Path, cancer: Data, serialization_format: str = "skops", **extra: Any
) -> Path:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    X, y = small(cancer)
    model = sklearn_pipeline(X, y)
    with quiet():
        mlflow.sklearn.save_model(
            model,
            str(path),
            serialization_format=serialization_format,
            signature=infer_signature(X, model.predict(X)),
            input_example=example_rows(X, y),
            pip_requirements=["scikit-learn", "skops"],
            **extra,
        )
    return path


def save_xgboost(path: Path, cancer: Data) -> Path:
    import mlflow.xgboost
    import xgboost
    from mlflow.models import infer_signature

    X, y = small(cancer)
    model = xgboost.XGBClassifier(n_estimators=12, max_depth=3).fit(X, y)
    with quiet():
        mlflow.xgboost.save_model(
            model,
            str(path),
            signature=infer_signature(X, model.predict(X)),
            input_example=example_rows(X, y),
            pip_requirements=["xgboost"],
        )
    return path


def save_onnx(path: Path, cancer: Data) -> Path:
    import mlflow.onnx
    from mlflow.models import infer_signature
    from skl2onnx import to_onnx

    X, y = small(cancer)
    features = X.to_numpy(dtype=np.float32)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(features, y)
    graph = to_onnx(model, features[:1], options={"zipmap": False})
    example = example_rows(X, y).to_numpy(dtype=np.float32)
    with quiet():
        mlflow.onnx.save_model(
            graph,
            str(path),
            signature=infer_signature(features, model.predict(features)),
            input_example=example,
            pip_requirements=["onnxruntime"],
        )
    return path


def save_image_onnx(path: Path) -> Path:
    """The ONNX image classifier (float32 ``[N, 3, 32, 32]``) as ``mlflow.onnx`` saves
    it: an N-d tensor spec in the signature and a batch of images as the example."""
    import mlflow.onnx
    from mlflow.models import infer_signature
    from tests.kind_models import image_model, images, run_onnx

    model = image_model()
    example = images(4, seed=1)
    labels, _ = run_onnx(model, {"image": example})
    with quiet():
        mlflow.onnx.save_model(
            model,
            str(path),
            signature=infer_signature(example, labels),
            input_example=example,
            pip_requirements=["onnxruntime"],
        )
    return path


def save_lightgbm_booster(path: Path, cancer: Data) -> Path:
    import lightgbm
    import mlflow.lightgbm
    from mlflow.models import infer_signature

    X, y = small(cancer)
    booster = lightgbm.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 7}, lightgbm.Dataset(X, y), 10
    )
    with quiet():
        mlflow.lightgbm.save_model(
            booster,
            str(path),
            signature=infer_signature(X, booster.predict(X)),
            input_example=example_rows(X, y),
            pip_requirements=["lightgbm"],
        )
    return path


def colours() -> Data:
    """A string column the model encodes with handle_unknown="ignore": new colours are fine."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {"colour": rng.choice(["red", "green", "blue"], 300), "size": rng.normal(size=300)}
    )
    return frame, (frame["size"] > 0).astype(int)


def save_colour_model(path: Path) -> Path:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    X, y = colours()
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["colour"]), remainder="passthrough"
        ),
        LogisticRegression(),
    ).fit(X, y)
    with quiet():
        mlflow.sklearn.save_model(
            model,
            str(path),
            serialization_format="skops",
            signature=infer_signature(X, model.predict(X)),
            input_example=X.head(3),
            pip_requirements=["scikit-learn"],
        )
    return path


def pyfunc_predict(path: Path, rows: object) -> np.ndarray:
    """What MLflow's own loader predicts for ``rows``."""
    import mlflow.pyfunc

    with quiet():
        predicted = mlflow.pyfunc.load_model(str(path)).predict(rows)
    if isinstance(predicted, pd.DataFrame):  # ONNX: one column per output
        return np.asarray(predicted.iloc[:, 0])
    if isinstance(predicted, dict):
        return np.asarray(next(iter(predicted.values())))
    return np.asarray(predicted)


def edit_mlmodel(path: Path, change: Any) -> None:
    """Rewrite a folder's MLmodel through ``change(document)`` (for the bad-input tests)."""
    mlmodel = path / "MLmodel"
    document = yaml.safe_load(mlmodel.read_text())
    change(document)
    mlmodel.write_text(yaml.safe_dump(document))


@contextmanager
def file_tracking(root: Path) -> Iterator[None]:
    """MLflow's file store in ``root`` (it now refuses it unless told it is wanted)."""
    import mlflow

    before = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    mlflow.set_tracking_uri(root.as_uri())
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)
        if before is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = before


def log_tracked_model(root: Path, cancer: Data) -> tuple[Path, str, Path]:
    """A run in a local MLflow tracking folder ``root`` that logged params, metrics, a tag
    and a model: (the model's folder, the run id, ``root``)."""
    import mlflow.sklearn

    X, y = small(cancer)
    with file_tracking(root), quiet():
        mlflow.set_experiment("Churn Models")
        with mlflow.start_run(run_name="baseline") as run:
            mlflow.log_params({"C": 1.0, "scaler": "standard"})
            for step, auc in enumerate([0.91, 0.95]):
                mlflow.log_metric("auc", auc, step=step)
            mlflow.set_tag("team", "risk")
            info = mlflow.sklearn.log_model(
                sklearn_pipeline(X, y),
                name="churn_model",
                input_example=X.head(5),
                pip_requirements=["scikit-learn"],
            )
    return Path(info.artifact_path.removeprefix("file://")), run.info.run_id, root
