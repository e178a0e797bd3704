"""XGBoost and LightGBM through their own text/binary formats (never pickle).

Both libraries are optional extras; they are imported only when such a model is seen.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import UnsupportedModel
from modelyard.flavors.base import ModelTraits, SavedModel, Table, Vetted, module_of
from modelyard.packages import package_version


def _names_of(model: Any) -> tuple[str, ...] | None:
    names = getattr(model, "feature_names_in_", None)
    return tuple(str(n) for n in names) if names is not None else None


def _sklearn_api_traits(model: Any, classifier: bool) -> ModelTraits:
    names = _names_of(model)
    n_features = getattr(model, "n_features_in_", None)
    return ModelTraits(
        "classification" if classifier else "regression",
        tuple(model.classes_) if classifier else None,
        classifier,
        names,
        int(n_features) if n_features is not None else None,
        "dataframe" if names is not None else "array",
    )


class _WrappedAdapter:
    def __init__(self, model: Any, classifier: bool) -> None:
        self.model = model
        self.traits = _sklearn_api_traits(model, classifier)
        # XGBoost checks feature names itself: a named model gets a DataFrame, always.
        self.accepts_matrix = self.traits.input_format == "array"

    def _x(self, frame: Table) -> Any:
        if isinstance(frame, pd.DataFrame) and self.traits.input_format == "array":
            return frame.to_numpy()
        return frame

    def predict(self, frame: Table) -> np.ndarray:
        return np.asarray(self.model.predict(self._x(frame)))

    def predict_proba(self, frame: Table) -> np.ndarray:
        if not self.traits.has_proba:
            raise UnsupportedModel("this model has no predict_proba")
        return np.asarray(self.model.predict_proba(self._x(frame)))


def _matrix(rows: Table) -> np.ndarray:
    return np.asarray(rows.to_numpy() if isinstance(rows, pd.DataFrame) else rows)


class XGBoostFlavor:
    name: str = "xgboost"
    file_suffixes: tuple[str, ...] = (".ubj",)
    MODEL_FILE = "model.ubj"

    def detect(self, model: object) -> bool:
        return module_of(model) == "xgboost" and hasattr(model, "save_model")

    def save(self, model: object, *, trust_types: bool) -> SavedModel:
        import xgboost

        if not isinstance(model, xgboost.XGBClassifier | xgboost.XGBRegressor):
            raise UnsupportedModel("only XGBClassifier and XGBRegressor are supported")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, self.MODEL_FILE)
            model.save_model(path)
            data = Path(path).read_bytes()
        classifier = isinstance(model, xgboost.XGBClassifier)
        return SavedModel({self.MODEL_FILE: data}, {"format": "ubj", "classifier": classifier})

    def read_file(self, path: Path, *, trust_types: bool, trust_pickle: bool) -> SavedModel:
        raise UnsupportedModel(
            "register XGBoost models from Python (yard.register(model, ...)): a bare .ubj file "
            "does not say whether it is a classifier"
        )

    def load(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> _WrappedAdapter:
        import xgboost

        classifier = bool(meta.get("classifier"))
        model = xgboost.XGBClassifier() if classifier else xgboost.XGBRegressor()
        model.load_model(bytearray(files[self.MODEL_FILE]))
        return _WrappedAdapter(model, classifier)

    def check_trust(
        self, meta: Mapping[str, Any], *, trust_types: bool, trust_pickle: bool
    ) -> Vetted:
        return Vetted(dict(meta))  # a data format: loading runs no code from the file

    def libraries(self) -> dict[str, str]:
        version = package_version("xgboost")
        return {
            "xgboost": version if version != "not installed" else package_version("xgboost-cpu")
        }


class _LightGBMAdapter:
    def __init__(self, booster: Any, classes: list[Any] | None, names: list[str]) -> None:
        self.booster = booster
        self.classes = np.asarray(classes) if classes is not None else None
        self.traits = ModelTraits(
            "classification" if classes is not None else "regression",
            tuple(classes) if classes is not None else None,
            classes is not None,
            tuple(names),
            len(names),
            "array",  # columns arrive in the model's order; names may differ (see registration)
        )
        self.accepts_matrix = True

    def predict_proba(self, frame: Table) -> np.ndarray:
        if self.classes is None:
            raise UnsupportedModel("this model has no predict_proba")
        raw = np.asarray(self.booster.predict(_matrix(frame)))
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, frame: Table) -> np.ndarray:
        if self.classes is None:
            return np.asarray(self.booster.predict(_matrix(frame)))
        return np.asarray(self.classes[np.argmax(self.predict_proba(frame), axis=1)])


class LightGBMFlavor:
    name: str = "lightgbm"
    file_suffixes: tuple[str, ...] = ()
    MODEL_FILE = "model.txt"

    def detect(self, model: object) -> bool:
        return module_of(model) == "lightgbm" and hasattr(model, "booster_")

    def save(self, model: object, *, trust_types: bool) -> SavedModel:
        import lightgbm

        if not isinstance(model, lightgbm.LGBMClassifier | lightgbm.LGBMRegressor):
            raise UnsupportedModel("only LGBMClassifier and LGBMRegressor are supported")
        text: str = model.booster_.model_to_string()
        classes = (
            [c.item() if isinstance(c, np.generic) else c for c in model.classes_]
            if isinstance(model, lightgbm.LGBMClassifier)
            else None
        )
        return SavedModel(
            {self.MODEL_FILE: text.encode()},
            {"format": "lightgbm-text", "classes": classes, "names": model.booster_.feature_name()},
        )

    def read_file(self, path: Path, *, trust_types: bool, trust_pickle: bool) -> SavedModel:
        raise UnsupportedModel("register LightGBM models from Python (yard.register(model, ...))")

    def load(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> _LightGBMAdapter:
        import lightgbm

        booster = lightgbm.Booster(model_str=files[self.MODEL_FILE].decode())
        return _LightGBMAdapter(booster, meta.get("classes"), list(meta["names"]))

    def check_trust(
        self, meta: Mapping[str, Any], *, trust_types: bool, trust_pickle: bool
    ) -> Vetted:
        return Vetted(dict(meta))  # a data format: loading runs no code from the file

    def libraries(self) -> dict[str, str]:
        return {"lightgbm": package_version("lightgbm")}
