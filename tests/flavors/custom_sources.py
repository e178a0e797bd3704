"""Custom model code as a user would write it, written to files by the tests, and the data
its wrapped scikit-learn model is trained on."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

FEATURES = '''
def with_ratio(frame):
    """Pre-processing: a derived feature the wrapped model was trained with."""
    out = frame.copy()
    out["ratio"] = out["a"] / (out["b"] + 1.0)
    return out
'''

MODEL = '''
from __future__ import annotations

import json

import numpy as np

import modelyard
from churn_features import with_ratio


class Churn(modelyard.PythonModel):
    """Derived feature in, the registered model's score, a threshold and a rule out."""

    kind = "classification"

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def load(self, context: modelyard.Context) -> None:
        self.base = context.models["base"]
        self.rules = json.loads(context.files["rules"])

    def predict(self, frame):
        scores = self.base.predict_proba(with_ratio(frame))[:, 1]
        label = np.where(scores >= self.threshold, "call", "wait")
        return np.where(frame["vip"] >= self.rules["vip_from"], "keep", label)
'''

BAD = """
import numpy as np

import modelyard


class Short(modelyard.PythonModel):
    def predict(self, frame):
        return np.zeros(len(frame) - 1)


class Raises(modelyard.PythonModel):
    def predict(self, frame):
        raise RuntimeError("no churn today")


class Sneaky(modelyard.PythonModel):
    def predict(self, frame):
        return __import__("helper_beside").score(frame)


class FailsOn(modelyard.PythonModel):
    def predict(self, frame):
        if (frame["a"] > 100).any():
            raise ValueError("a above 100 is not a customer")
        return np.zeros(len(frame))
"""

STATIC = """
import helper_beside

import modelyard


class Static(modelyard.PythonModel):
    def predict(self, frame):
        return helper_beside.score(frame)
"""

HELPER = """
def score(frame):
    return [0.0] * len(frame)
"""


def write_code(folder: Path) -> dict[str, Path]:
    """The code files (and a helper left out of every ``code=``, beside them)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "churn_features": FEATURES,
        "churn_model": MODEL,
        "bad_models": BAD,
        "static_import": STATIC,
        "helper_beside": HELPER,
    }
    for name, text in files.items():
        (folder / f"{name}.py").write_text(text)
    (folder / "rules.json").write_text(json.dumps({"vip_from": 1}))
    return {name: folder / f"{name}.py" for name in files} | {"rules": folder / "rules.json"}


def import_user_module(path: Path) -> object:
    """``import churn_model`` as the user's own script does (its folder on sys.path while
    it imports); callers forget the modules again with :func:`forget_user_modules`."""
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(path.parent))


def forget_user_modules(folder: Path) -> None:
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", "") or "").startswith(str(folder)):
            del sys.modules[name]


def churn_data(seed: int = 0, rows: int = 400) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=rows),
            "b": rng.uniform(0, 3, rows),
            "vip": rng.integers(0, 2, rows),
        }
    )
    ratio = frame["a"] / (frame["b"] + 1.0)
    return frame, (ratio + rng.normal(0, 0.2, rows) > 0).astype(int)


def base_model(frame: pd.DataFrame, labels: pd.Series) -> LogisticRegression:
    """The registered model the custom one wraps: trained with the derived feature."""
    with_ratio = frame.assign(ratio=frame["a"] / (frame["b"] + 1.0))
    return LogisticRegression().fit(with_ratio, labels)


def expected(model: LogisticRegression, frame: pd.DataFrame, threshold: float) -> list[str]:
    """What the custom model must answer, computed here without it."""
    scores = model.predict_proba(frame.assign(ratio=frame["a"] / (frame["b"] + 1.0)))[:, 1]
    label = np.where(scores >= threshold, "call", "wait")
    return list(np.where(frame["vip"] >= 1, "keep", label))
