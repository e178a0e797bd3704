"""Estimators with controlled behaviour for serving tests (imported by the server process).

They are registered with ``trust_types=True`` because skops must rebuild them from this
module; the server subprocess gets the repository root on PYTHONPATH.
"""

from __future__ import annotations

import os
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin


class SlowClassifier(ClassifierMixin, BaseEstimator):
    """Predicts class 1 after sleeping ``delay`` seconds per call (a busy model).

    ``SLOW_MODEL_DELAY`` in the environment overrides the delay, so a test can keep
    registration quick and make only the served copy slow.
    """

    def __init__(self, delay: float = 0.2) -> None:
        self.delay = delay

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict_proba(self, X):
        time.sleep(float(os.environ.get("SLOW_MODEL_DELAY", self.delay)))
        rows = np.asarray(X).shape[0]
        return np.tile([0.25, 0.75], (rows, 1))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class NanRegressor(RegressorMixin, BaseEstimator):
    """Returns NaN for every row (a broken model)."""

    def fit(self, X, y):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        return np.full(np.asarray(X).shape[0], np.nan)


class ExplodingRegressor(RegressorMixin, BaseEstimator):
    """Raises when a row's first feature is negative (a model bug), predicts 1.0 otherwise."""

    def fit(self, X, y):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        values = np.asarray(X, dtype=float)
        if (values[:, 0] < 0).any():
            raise RuntimeError("boom: negative input reached the model")
        return np.ones(values.shape[0])


class ExplodingClassifier(ClassifierMixin, BaseEstimator):
    """A classifier with a bug: in a process where ``EXPLODE_ABOVE`` is set, raises when a
    row's first feature is above it (registration, which predicts on the sample, passes);
    predicts class 1 otherwise. A bad canary."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict_proba(self, X):
        values = np.asarray(X, dtype=float)
        limit = os.environ.get("EXPLODE_ABOVE")
        if limit is not None and (values[:, 0] > float(limit)).any():
            raise RuntimeError("boom: a large first feature reached the model")
        return np.tile([0.0, 1.0], (values.shape[0], 1))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


HANG_VALUE = 12345.0


class HangingClassifier(ClassifierMixin, BaseEstimator):
    """Hangs on a row whose first feature is ``HANG_VALUE`` for as long as the file named by
    ``HANG_WHILE`` exists (a model waiting on a lock or a peer that never answers); answers
    class 1 at once otherwise."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict_proba(self, X):
        values = np.asarray(X, dtype=float)
        flag = os.environ.get("HANG_WHILE")
        if flag and (values[:, 0] == HANG_VALUE).any():
            deadline = time.monotonic() + 300
            while os.path.exists(flag) and time.monotonic() < deadline:
                time.sleep(0.05)
        return np.tile([0.0, 1.0], (values.shape[0], 1))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
