"""What a fitted scikit-learn model says about its input columns.

A string column is a closed category only where the model refuses values it was not
fitted on: a ``OneHotEncoder``/``OrdinalEncoder`` with ``handle_unknown="error"`` reading
it. A column a text vectorizer reads is text, and a model whose first step is a text
vectorizer takes one 1-D input (a list of strings), not a table. Only the steps that see
the raw input are looked at: a pipeline's first step (through column-preserving steps such
as ``SimpleImputer``), each part of a ``ColumnTransformer`` or ``FeatureUnion``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

TEXT_VECTORIZERS = frozenset({"CountVectorizer", "TfidfVectorizer", "HashingVectorizer"})
ENCODERS = frozenset({"OneHotEncoder", "OrdinalEncoder"})
# Steps that hand each input column on as one column: what follows still reads it.
COLUMN_PRESERVING = frozenset({"SimpleImputer"})


@dataclass
class InputHints:
    """Per input position: the categories of columns the model refuses others for, and the
    columns it reads as text; ``one_dimensional`` when it takes a 1-D input."""

    closed: dict[int, tuple[str, ...]] = field(default_factory=dict)
    text: set[int] = field(default_factory=set)
    one_dimensional: bool = False


def input_hints(model: Any) -> InputHints:
    hints = InputHints()
    first = _first_reader(model)
    if _is_sklearn(first) and type(first).__name__ in TEXT_VECTORIZERS:
        hints.one_dimensional = True
        hints.text.add(0)
        return hints
    width = getattr(model, "n_features_in_", None)
    if width is None:
        return hints
    _walk(model, list(range(int(width))), hints)
    return hints


def _is_sklearn(step: Any) -> bool:
    return type(step).__module__.startswith("sklearn.")


def _first_reader(step: Any) -> Any:
    """The step that sees the raw input (a pipeline's first real step, recursively)."""
    while hasattr(step, "steps") and _is_sklearn(step):
        real = [s for _, s in step.steps if s not in (None, "passthrough")]
        if not real:
            return None
        step = real[0]
    return step


def _walk(step: Any, columns: list[int], hints: InputHints) -> None:
    """Record what ``step`` (reading the input positions ``columns``) says about them."""
    if step is None or isinstance(step, str) or not _is_sklearn(step):
        return
    name = type(step).__name__
    if hasattr(step, "steps"):
        for _, inner in step.steps:
            if inner in (None, "passthrough"):
                continue
            _walk(inner, columns, hints)
            if type(inner).__name__ not in COLUMN_PRESERVING:
                return
        return
    if hasattr(step, "transformers_"):  # ColumnTransformer
        names = getattr(step, "feature_names_in_", None)
        for _, inner, selected in step.transformers_:
            picked = _positions(selected, names, len(columns))
            if picked is not None:
                _walk(inner, [columns[i] for i in picked], hints)
        return
    if hasattr(step, "transformer_list"):  # FeatureUnion
        for _, inner in step.transformer_list:
            _walk(inner, columns, hints)
        return
    if name in TEXT_VECTORIZERS:
        hints.text.update(columns)
    elif name in ENCODERS and getattr(step, "handle_unknown", None) == "error":
        for position, known in zip(columns, getattr(step, "categories_", ()), strict=False):
            values = [v for v in np.asarray(known, dtype=object).tolist() if not pd.isna(v)]
            hints.closed[position] = tuple(str(v) for v in values)


def _positions(selected: Any, names: Sequence[str] | None, width: int) -> list[int] | None:
    """A ColumnTransformer's column selection as positions (None: a form not understood)."""
    listed = list(names) if names is not None else []
    if isinstance(selected, str):
        selected = [selected]
    elif isinstance(selected, int | np.integer):
        selected = [int(selected)]
    elif isinstance(selected, slice):
        ends = (selected.start, selected.stop)
        return (
            list(range(width))[selected]
            if all(e is None or isinstance(e, int) for e in ends)
            else None
        )
    array = np.asarray(selected)
    if array.dtype.kind == "b" and array.size == width:
        return [int(i) for i in np.flatnonzero(array)]
    out = []
    for item in array.tolist():
        if isinstance(item, str) and item in listed:
            out.append(listed.index(item))
        elif isinstance(item, int) and 0 <= item < width:
            out.append(item)
        else:
            return None
    return out
