"""scikit-learn estimators and pipelines, saved with skops (pickle only when asked).

skops refuses types it does not know, including common ones (``sklearn.tree._tree.Tree``).
Which of those a file may name is decided type by type in ``skops_trust``: classes on a
versioned allow-list, anything else only with an explicit flag. The row records the list,
and every load checks the stored bytes against it again before skops builds anything.
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
from modelyard.flavors.base import ModelTraits, SavedModel, Table, Vetted, module_of
from modelyard.flavors.skops_trust import (
    ALLOW_LIST_VERSION,
    beyond_allow_list,
    vet_new_file,
    vet_stored_file,
)
from modelyard.packages import package_version

MODEL_FILE = "model.skops"
PICKLE_FILE = "model.pkl"


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
        self._one_dimensional = self.traits.input_format == "column"
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
        if self._one_dimensional:  # called as it was fitted: with one 1-D input
            column = rows.iloc[:, 0] if isinstance(rows, pd.DataFrame) else rows[:, 0]
            return np.asarray(method(np.asarray(column)))
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

    from modelyard.flavors.sklearn_inputs import input_hints

    names = getattr(model, "feature_names_in_", None)
    n_features = getattr(model, "n_features_in_", None)
    hints = input_hints(model)
    if hints.one_dimensional:
        input_format, n_features = "column", 1
    else:
        input_format = "dataframe" if names is not None else "array"
    classifier = is_classifier(model)
    return ModelTraits(
        "classification" if classifier else "regression" if is_regressor(model) else "other",
        tuple(getattr(model, "classes_", ())) if classifier else None,
        classifier and hasattr(model, "predict_proba"),
        tuple(str(n) for n in names) if names is not None else None,
        int(n_features) if n_features is not None else None,
        input_format,
        dict(hints.closed),
        frozenset(hints.text),
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
        return _skops_saved(sio.dumps(model), trust_types)

    def read_file(self, path: Path, *, trust_types: bool, trust_pickle: bool) -> SavedModel:
        data = path.read_bytes()
        if path.suffix.lower() == ".skops":
            return _skops_saved(data, trust_types)
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

            trusted = vet_stored_file(files[MODEL_FILE], meta)
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
    ) -> Vetted:
        if meta.get("format") == "pickle":
            if not trust_pickle:
                raise UntrustedContent(
                    "a version is a pickle: loading it runs arbitrary code; pass "
                    "--trust-pickle (trust_pickle=True) if you trust where it came from"
                )
            return Vetted(dict(meta))
        recorded = meta.get("trusted_types", [])
        if not isinstance(recorded, list) or not all(isinstance(t, str) for t in recorded):
            raise UntrustedContent("a version's trusted_types is not a list of type names")
        beyond = beyond_allow_list(recorded)
        if not beyond:
            return Vetted(dict(meta))
        if not trust_types:
            raise UntrustedContent(
                f"a version trusts {', '.join(beyond)}, outside the skops allow-list "
                f"(v{ALLOW_LIST_VERSION}); pass --trust-types (trust_types=True) to accept them"
            )
        # The flag vouches for these types now, whatever the archive claimed about them.
        return Vetted(
            {
                **meta,
                "allow_list": ALLOW_LIST_VERSION,
                "trusted_by_flag": beyond,
                "foreign_types_trusted": True,
            },
            tuple(beyond),
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


def _skops_saved(data: bytes, trust_types: bool) -> SavedModel:
    record = vet_new_file(data, trust_types=trust_types)
    return SavedModel({MODEL_FILE: data}, {"format": "skops", **record.meta()}, record.by_flag)


def _unpickle(data: bytes, label: str) -> Any:
    import joblib

    try:
        return joblib.load(io.BytesIO(data))
    except Exception as exc:  # unpickling can raise anything
        raise UnsupportedModel(f"cannot unpickle {label}: {exc}") from None
