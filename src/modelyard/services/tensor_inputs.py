"""Signatures of models that take N-d tensors (ONNX image and sequence models).

The model says each input's dtype and row shape; a sample, when given, is checked against
them (a wrong rank or dtype is refused before anything is stored) and predicted on for the
output's kind and width. Inputs are not profiled: drift is watched on the output only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelyard.domain.kinds import TENSOR
from modelyard.domain.signature import FeatureSpec, OutputSpec, Signature, to_plain
from modelyard.errors import SchemaMismatch, first_line

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from modelyard.flavors.base import ModelAdapter

CHECK_ROWS = 256


def tensor_signature(
    adapter: ModelAdapter, sample: object | None, features: object | None
) -> tuple[Signature, pd.DataFrame | None, np.ndarray | None]:
    """The signature, the sample as a frame of per-row arrays, and predictions on it."""
    import numpy as np

    if features:
        raise SchemaMismatch("features= sets kinds of table columns; this model takes tensors")
    traits = adapter.traits
    inputs = tuple(
        FeatureSpec(name, TENSOR, False, dtype=dtype, shape=shape)
        for name, dtype, shape in traits.tensors
    )
    classes = tuple(to_plain(c) for c in traits.classes) if traits.classes else None
    output = OutputSpec(traits.kind, classes, traits.has_proba)
    unchecked = Signature(inputs=inputs, output=output, input_format="tensor")
    if sample is None:
        return unchecked, None, None
    frame = unchecked.to_frame(sample)
    head = frame.iloc[:CHECK_ROWS]
    try:
        predictions = np.asarray(adapter.predict(head))
        width = int(np.asarray(adapter.predict_proba(head)).shape[1]) if traits.has_proba else 0
    except Exception as exc:  # the model's own error, whatever its type
        raise SchemaMismatch(f"the model cannot predict on the sample: {first_line(exc)}") from None
    if traits.kind == "classification" and not classes:
        classes = _classes(predictions, width)
    output = OutputSpec(
        traits.kind,
        classes,
        traits.has_proba,
        1 if predictions.ndim == 1 else int(predictions.shape[1]),
    )
    return Signature(inputs=inputs, output=output, input_format="tensor"), frame, predictions


def _classes(predictions: Any, width: int) -> tuple[Any, ...]:
    """An argmax graph's labels are the probability columns' indices; otherwise the labels
    seen on the sample."""
    import numpy as np

    seen = np.unique(predictions)
    if width and seen.dtype.kind in "iu" and seen.min() >= 0 and seen.max() < width:
        return tuple(range(width))
    return tuple(to_plain(c) for c in seen)
