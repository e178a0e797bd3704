"""The object ``yard.load`` returns: a model plus the signature its inputs are checked against."""

from __future__ import annotations

import numpy as np

from modelyard.domain.signature import Signature
from modelyard.errors import UnsupportedModel
from modelyard.flavors.base import ModelAdapter


class Predictor:
    def __init__(
        self, adapter: ModelAdapter, signature: Signature, name: str, version: int, flavor: str
    ) -> None:
        self._adapter = adapter
        self.signature = signature
        self.name = name
        self.version = version
        self.flavor = flavor

    @property
    def adapter(self) -> ModelAdapter:
        """The flavor's model object: callers must pass frames already checked and ordered."""
        return self._adapter

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def has_proba(self) -> bool:
        return self.signature.output.has_proba

    @property
    def classes(self) -> tuple[object, ...] | None:
        return self.signature.output.classes

    def predict(self, data: object) -> np.ndarray:
        """Predict on a DataFrame, ``{feature: [values]}``, records or a 2-D array."""
        return self._adapter.predict(self.signature.to_frame(data))

    def predict_proba(self, data: object) -> np.ndarray:
        if not self.has_proba:
            raise UnsupportedModel(
                f"{self.ref} has no predict_proba ({self.signature.output.kind})"
            )
        return self._adapter.predict_proba(self.signature.to_frame(data))

    def __repr__(self) -> str:
        return f"Predictor({self.ref}, flavor={self.flavor}, features={len(self.signature.inputs)})"
