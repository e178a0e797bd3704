"""scikit-learn estimators and pipelines, saved with skops (pickle only when asked).

skops refuses types it does not know, including common ones (``sklearn.tree._tree.Tree``).
We compute those types at save time, accept them only when they come from the model's own
libraries (or the caller trusts foreign ones explicitly), store the exact list, and trust
exactly that list at load time.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import UnsupportedModel, UntrustedContent
from modelyard.flavors.base import ModelTraits, SavedModel, Table, module_of
from modelyard.packages import package_version

MODEL_FILE = "model.skops"
PICKLE_FILE = "model.pkl"
TRUSTED_ROOTS = ("sklearn", "numpy", "scipy")


# Classifiers whose ``predict`` is exactly ``classes_[argmax(predict_proba)]`` (same tie
# rule), so serving can get both from one call. SVC(probability=True) is NOT among them:
# its probabilities come from a separate calibration and may disagree with predict.
ARGMAX_CONSISTENT = frozenset(
    {
        "LogisticRegression",
        "RandomForestClassifier",
        "ExtraTreesClassifier",
        "DecisionTreeClassifier",
        "ExtraTreeClassifier",
        "HistGradientBoostingClassifier",
        "GradientBoostingClassifier",
        "KNeighborsClassifier",
        "GaussianNB",
        "MultinomialNB",
        "BernoulliNB",
        "ComplementNB",
        "MLPClassifier",
        "LinearDiscriminantAnalysis",
        "QuadraticDiscriminantAnalysis",
    }
)


class SklearnAdapter:
    accepts_matrix = True

    def __init__(self, model: Any) -> None:
        self.model = model
        self.traits = traits_of(model)
        self._named = self.traits.feature_names is not None
        final = model.steps[-1][1] if hasattr(model, "steps") else model
        self._classes = np.asarray(getattr(model, "classes_", []))
        self.one_call = (
            self.traits.has_proba
            and type(final).__name__ in ARGMAX_CONSISTENT
            and type(final).__module__.startswith("sklearn.")
        )

    def predict_with_proba(self, rows: Table) -> tuple[np.ndarray, np.ndarray]:
        """Labels and probabilities, from one model call where that gives the same labels."""
        if not self.one_call:
            return self.predict(rows), self.predict_proba(rows)
        probabilities = self.predict_proba(rows)
        if probabilities.ndim != 2 or probabilities.shape[1] != len(self._classes):
            return self.predict(rows), probabilities
        return self._classes[np.argmax(probabilities, axis=1)], probabilities

    def predict(self, rows: Table) -> np.ndarray:
        return self._call(self.model.predict, rows)

    def predict_proba(self, rows: Table) -> np.ndarray:
        return self._call(self.model.predict_proba, rows)

    def _call(self, method: Any, rows: Table) -> np.ndarray:
        if isinstance(rows, pd.DataFrame):
            return np.asarray(method(rows if self._named else rows.to_numpy()))
        if not self._named:
            return np.asarray(method(rows))
        # Columns are in the fitted order already (the signature guarantees it); only the
        # names are missing, which scikit-learn would warn about on every call.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return np.asarray(method(rows))


def traits_of(model: Any) -> ModelTraits:
    from sklearn.base import is_classifier, is_regressor

    names = getattr(model, "feature_names_in_", None)
    n_features = getattr(model, "n_features_in_", None)
    if is_classifier(model):
        classes = tuple(getattr(model, "classes_", ()))
        return ModelTraits(
            "classification",
            classes,
            hasattr(model, "predict_proba"),
            tuple(str(n) for n in names) if names is not None else None,
            int(n_features) if n_features is not None else None,
            "dataframe" if names is not None else "array",
        )
    kind = "regression" if is_regressor(model) else "other"
    return ModelTraits(
        kind,
        None,
        False,
        tuple(str(n) for n in names) if names is not None else None,
        int(n_features) if n_features is not None else None,
        "dataframe" if names is not None else "array",
    )


class SklearnFlavor:
    name: str = "sklearn"
    file_suffixes: tuple[str, ...] = (".skops", ".joblib", ".pkl", ".pickle")

    def detect(self, model: object) -> bool:
        if module_of(model) != "sklearn" and not hasattr(model, "fit"):
            return False
        from sklearn.base import BaseEstimator

        return isinstance(model, BaseEstimator) and hasattr(model, "predict")

    def save(self, model: object, *, trust_types: bool) -> SavedModel:
        import skops.io as sio

        _check_fitted(model)
        data = sio.dumps(model)
        return SavedModel({MODEL_FILE: data}, _skops_meta(data, trust_types))

    def read_file(self, path: Path, *, trust_types: bool, trust_pickle: bool) -> SavedModel:
        data = path.read_bytes()
        if path.suffix.lower() == ".skops":
            return SavedModel({MODEL_FILE: data}, _skops_meta(data, trust_types))
        if not trust_pickle:
            raise UntrustedContent(
                f"{path.name} is a pickle: loading it runs arbitrary code. Re-run with "
                "--trust-pickle (trust_pickle=True) if you trust its source, or save it with skops"
            )
        model = _unpickle(data, path.name)
        if not self.detect(model):
            raise UnsupportedModel(
                f"{path.name} holds a {type(model).__name__}, not a scikit-learn estimator"
            )
        return SavedModel({PICKLE_FILE: data}, {"format": "pickle"})

    def load(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> SklearnAdapter:
        if meta.get("format") == "pickle":
            model = _unpickle(files[PICKLE_FILE], PICKLE_FILE)
        else:
            import skops.io as sio

            trusted = list(meta.get("trusted_types", []))
            foreign = _foreign(trusted)
            if foreign and not meta.get("foreign_types_trusted"):
                raise UntrustedContent(
                    f"stored trust list names types from outside scikit-learn/numpy/scipy "
                    f"({', '.join(foreign)}) that were never trusted at registration"
                )
            try:
                model = sio.loads(files[MODEL_FILE], trusted=trusted)
            except Exception as exc:  # skops raises many kinds on damaged or refused input
                raise UnsupportedModel(f"cannot load the skops file: {exc}") from None
        if not self.detect(model):
            raise UnsupportedModel(
                f"the stored object is a {type(model).__name__}, not an estimator"
            )
        return SklearnAdapter(model)

    def check_trust(
        self, meta: Mapping[str, Any], *, trust_types: bool, trust_pickle: bool
    ) -> None:
        if meta.get("format") == "pickle" and not trust_pickle:
            raise UntrustedContent(
                "a version is a pickle: loading it runs arbitrary code; pass --trust-pickle "
                "(trust_pickle=True) if you trust where it came from"
            )
        foreign = _foreign(list(meta.get("trusted_types", [])))
        if foreign and not trust_types:
            raise UntrustedContent(
                f"a version trusts types from outside scikit-learn/numpy/scipy "
                f"({', '.join(foreign)}); pass --trust-types (trust_types=True) to accept them"
            )

    def libraries(self) -> dict[str, str]:
        return {lib: package_version(lib) for lib in ("scikit-learn", "skops", "numpy", "scipy")}


def _check_fitted(model: object) -> None:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(model)
    except NotFittedError:
        raise UnsupportedModel(f"the {type(model).__name__} is not fitted; fit it first") from None
    except TypeError as exc:
        raise UnsupportedModel(str(exc)) from None


def _foreign(types: list[str]) -> list[str]:
    return [t for t in types if not isinstance(t, str) or t.split(".", 1)[0] not in TRUSTED_ROOTS]


def _skops_meta(data: bytes, trust_types: bool) -> dict[str, Any]:
    trusted = _trusted_types(data, trust_types)
    return {
        "format": "skops",
        "trusted_types": trusted,
        "foreign_types_trusted": bool(_foreign(trusted)),
    }


def _trusted_types(data: bytes, trust_types: bool) -> list[str]:
    import skops.io as sio

    try:
        untrusted = sorted(sio.get_untrusted_types(data=data))
    except Exception as exc:  # a damaged archive surfaces as zipfile/json/key errors
        raise UnsupportedModel(f"not a valid skops file: {exc}") from None
    foreign = _foreign(untrusted)
    if foreign and not trust_types:
        raise UntrustedContent(
            "the model contains types from outside scikit-learn/numpy/scipy: "
            f"{', '.join(foreign)}; pass trust_types=True (CLI --trust-types) to accept them"
        )
    return untrusted


def _unpickle(data: bytes, label: str) -> Any:
    import joblib

    try:
        return joblib.load(io.BytesIO(data))
    except Exception as exc:  # unpickling can raise anything
        raise UnsupportedModel(f"cannot unpickle {label}: {exc}") from None
