"""The flavor plug-in point: save a model object to bytes, load bytes back to an adapter.

Flavors know no storage: they get and give ``{file name: bytes}``; the store hashes,
stores and verifies those bytes before a flavor ever sees them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ModelTraits:
    """What a loaded model tells about itself; the signature's output part comes from here."""

    kind: str  # classification | regression | other
    classes: tuple[Any, ...] | None
    has_proba: bool
    feature_names: tuple[str, ...] | None
    n_features: int | None
    # dataframe | array | column (one 1-D input, e.g. a list of strings) | tensor (N-d)
    input_format: str
    # What the model says about its input columns, by position: the values a column is
    # closed to (the model refuses others) and the columns it reads as free text.
    closed_inputs: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    text_inputs: frozenset[int] = frozenset()
    # input_format "tensor": each input's name, numpy dtype and row shape (None: any size).
    tensors: tuple[tuple[str, str, tuple[int | None, ...]], ...] = ()


@dataclass(frozen=True)
class SavedModel:
    files: dict[str, bytes]
    meta: dict[str, Any] = field(default_factory=dict)
    # What an explicit flag (--trust-types) let in beyond the flavor's own rules: the audit
    # log names it.
    trusted_by_flag: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vetted:
    """A stored row's flavor metadata after a trust check (restore): the metadata to store,
    and what an explicit flag vouched for beyond the flavor's own rules."""

    meta: dict[str, Any]
    trusted_by_flag: tuple[str, ...] = ()


# What adapters are called with: a DataFrame, or — when the adapter says it accepts one and
# every feature is numeric — a 2-D float array with columns in signature order, which skips
# pandas' per-column checks inside the model library (the larger part of a one-row call).
Table: TypeAlias = "pd.DataFrame | np.ndarray"


class ModelAdapter(Protocol):
    """A model in memory, called with rows already checked and in signature column order."""

    traits: ModelTraits
    accepts_matrix: bool

    def predict(self, rows: Table) -> np.ndarray: ...

    def predict_proba(self, rows: Table) -> np.ndarray: ...


class Flavor(Protocol):
    name: str
    file_suffixes: tuple[str, ...]

    def detect(self, model: object) -> bool: ...

    def save(self, model: object, *, trust_types: bool) -> SavedModel: ...

    def read_file(self, path: Path, *, trust_types: bool, trust_pickle: bool) -> SavedModel: ...

    def load(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> ModelAdapter: ...

    def check_trust(
        self, meta: Mapping[str, Any], *, trust_types: bool, trust_pickle: bool
    ) -> Vetted:
        """Refuse stored metadata that would run untrusted code without the matching flag;
        with the flag, say (and record in the metadata) what it vouched for."""
        ...

    def libraries(self) -> dict[str, str]: ...


def module_of(model: object) -> str:
    return type(model).__module__.split(".", 1)[0]
