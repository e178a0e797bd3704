"""Model formats, each a plug-in keyed by a stable name that stored rows refer to."""

from __future__ import annotations

from pathlib import Path

from modelyard.errors import UnsupportedModel
from modelyard.flavors.base import Flavor, ModelAdapter, ModelTraits, SavedModel, Vetted
from modelyard.flavors.boosting import LightGBMFlavor, XGBoostFlavor
from modelyard.flavors.custom import PythonFlavor
from modelyard.flavors.onnx import OnnxFlavor
from modelyard.flavors.sklearn import SklearnFlavor

# Order matters: the boosting libraries' estimators also look like scikit-learn ones, and a
# custom model may have a ``fit`` of its own.
FLAVORS: dict[str, Flavor] = {
    f.name: f
    for f in (PythonFlavor(), XGBoostFlavor(), LightGBMFlavor(), OnnxFlavor(), SklearnFlavor())
}


def get_flavor(name: str) -> Flavor:
    try:
        return FLAVORS[name]
    except KeyError:
        raise UnsupportedModel(
            f"unknown flavor {name!r}; this modelyard knows {', '.join(FLAVORS)}"
        ) from None


def detect_flavor(model: object) -> Flavor:
    for flavor in FLAVORS.values():
        if flavor.detect(model):
            return flavor
    raise UnsupportedModel(
        f"no flavor for a {type(model).__module__}.{type(model).__name__}; supported: "
        "scikit-learn estimators/pipelines, ONNX ModelProto, XGBoost and LightGBM "
        "scikit-learn API models, modelyard.PythonModel subclasses (with code=)"
    )


def flavor_for_file(path: Path) -> Flavor:
    suffix = path.suffix.lower()
    for flavor in FLAVORS.values():
        if suffix in flavor.file_suffixes:
            return flavor
    raise UnsupportedModel(
        f"cannot register {path.name}: unsupported file type {suffix or '(none)'}; "
        "use .onnx, .skops, or .joblib/.pkl with --trust-pickle"
    )


__all__ = [
    "FLAVORS",
    "Flavor",
    "ModelAdapter",
    "ModelTraits",
    "SavedModel",
    "Vetted",
    "detect_flavor",
    "flavor_for_file",
    "get_flavor",
]
