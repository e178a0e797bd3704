"""Turning a model (object or file) and a sample into what a version row records.

Everything here happens before the database is touched: the model is saved, loaded back
from the very bytes that will be stored (so a version that registers is a version that
loads), checked against the sample, and profiled.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelyard.domain.kinds import CLOSED, TEXT, parse_overrides
from modelyard.domain.monitoring import checks_off
from modelyard.domain.signature import (
    FeatureSpec,
    OutputSpec,
    Signature,
    infer_signature,
    to_plain,
)
from modelyard.errors import InvalidInput, NoReferenceWarning, SchemaMismatch, first_line
from modelyard.flavors import Flavor, SavedModel
from modelyard.flavors.base import ModelAdapter, ModelTraits
from modelyard.flavors.mlflow_schema import Declared
from modelyard.monitoring.profile import build_profile
from modelyard.services.holdout import Holdout, estimation_reference
from modelyard.services.tensor_inputs import tensor_signature

if TYPE_CHECKING:
    from modelyard.runtime.predictor import Predictor

CHECK_ROWS = 1000
SEED = 20261122


@dataclass(frozen=True)
class Prepared:
    saved: SavedModel
    signature: Signature
    profile: dict[str, Any]
    reference: bytes | None  # a capped sample as Parquet
    extra_files: Mapping[str, bytes] = field(default_factory=dict)  # e.g. a nanny model


def prepare(
    flavor: Flavor,
    saved: SavedModel,
    sample: object | None,
    *,
    bins: int,
    sample_rows: int,
    features: Mapping[str, str] | None = None,
    declared: Declared | None = None,
    holdout: Holdout | None = None,
) -> Prepared:
    """``features``: kinds the user sets per column, over what the model and sample say.
    ``declared``: what the model's own files say of its inputs (an MLflow signature),
    which decides the kinds and nullability the sample would only suggest.
    ``holdout``: labelled rows (features, labels) for estimating performance without labels;
    they stand for the sample when none is given."""
    adapter = flavor.load(saved.files, saved.meta)
    if holdout is not None and sample is None:
        sample = holdout[0]
    traits = adapter.traits
    if traits.input_format == "tensor":
        if holdout is not None:
            raise InvalidInput("holdout: performance is not estimated for tensor models")
        signature, frame, predictions = tensor_signature(adapter, sample, features)
        if declared is not None:  # MLflow's tensor specs: checked, open sizes filled in
            signature = declared.apply(signature)
        profile = build_profile(frame, signature, predictions, bins) if frame is not None else {}
        return Prepared(saved, signature, profile, None)
    if sample is None:
        if features:
            raise SchemaMismatch("features= sets kinds of the sample's columns; pass a sample")
        signature = _signature_without_sample(traits)
        if declared is not None:
            signature = declared.without_sample(signature)
        return Prepared(saved, signature, {}, None)
    frame = _sample_frame(sample, traits)
    overrides = parse_overrides(features, list(frame.columns))
    head = frame.iloc[:CHECK_ROWS]
    predictions = _try_predict(adapter, head)
    classes = traits.classes
    if traits.kind == "classification" and not classes:
        classes = tuple(np.unique(predictions).tolist())
    signature = infer_signature(
        frame,
        input_format=traits.input_format,
        output_kind=traits.kind,
        classes=classes,
        has_proba=traits.has_proba,
        output_width=1 if predictions.ndim == 1 else int(predictions.shape[1]),
        kinds={**_model_kinds(frame, traits), **overrides},
        categories={frame.columns[i]: known for i, known in traits.closed_inputs.items()},
    )
    if declared is not None:
        signature = declared.apply(signature)
    reservoir = _reservoir(frame, sample_rows)
    reservoir_predictions = predictions if reservoir is head else _try_predict(adapter, reservoir)
    profile = build_profile(frame, signature, reservoir_predictions, bins)
    reference = _parquet(reservoir) if sample_rows > 0 else None
    extra: dict[str, bytes] = {}
    if holdout is not None:
        profile["estimation"], extra = estimation_reference(adapter, signature, holdout)
    return Prepared(saved, signature, profile, reference, extra)


def warn_without_reference(ref: str) -> None:
    """Said where the user called ``Yard.register`` / ``register_file`` (two frames up from
    the registry's ``register_saved``): drift will show nothing for this version, and why."""
    warnings.warn(f"{ref}: {checks_off(ref)}", NoReferenceWarning, stacklevel=4)


# -- a reference profile given after registration (`modelyard profile set`) -------------


def profile_later(
    predictor: Predictor, sample: object, *, bins: int, sample_rows: int
) -> tuple[dict[str, Any], bytes | None]:
    """The profile and capped sample rows of a registered version, from a sample that must
    fit the version's signature as any request would (the signature is not re-inferred)."""
    try:
        frame = predictor.signature.to_frame(sample)
    except SchemaMismatch as exc:
        raise SchemaMismatch(
            f"the sample does not fit {predictor.ref}'s signature: {first_line(exc)}",
            exc.problems,
        ) from None
    reservoir = _reservoir(frame, sample_rows)
    predictions = _try_predict(predictor.adapter, reservoir)
    profile = build_profile(frame, predictor.signature, predictions, bins)
    return profile, (_parquet(reservoir) if sample_rows > 0 else None)


def _model_kinds(frame: pd.DataFrame, traits: ModelTraits) -> dict[str, str]:
    """Kinds the model decides for string columns (numbers stay what they are)."""
    strings = {
        i for i, c in enumerate(frame.columns) if not pd.api.types.is_numeric_dtype(frame[c])
    }
    kinds = {frame.columns[i]: TEXT for i in traits.text_inputs if i in strings}
    kinds.update({frame.columns[i]: CLOSED for i in traits.closed_inputs if i in strings})
    return kinds


def _one_column(sample: object) -> pd.DataFrame:
    """A model taking one 1-D input: its sample as a list, a Series, a 1-D array or a frame
    of one column, named after the Series or column (else ``input``)."""
    if isinstance(sample, pd.DataFrame):
        if sample.shape[1] != 1:
            raise SchemaMismatch(
                f"the model takes one 1-D input; the sample has {sample.shape[1]} columns"
            )
        return pd.DataFrame({str(sample.columns[0]): sample.iloc[:, 0].to_numpy()})
    name = str(sample.name) if isinstance(sample, pd.Series) and sample.name is not None else None
    try:
        array = np.asarray(sample, dtype=object)
    except (ValueError, TypeError) as exc:
        raise SchemaMismatch(f"the sample is not a list of values: {exc}") from None
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise SchemaMismatch(f"the model takes one 1-D input; the sample is {array.ndim}-D")
    return pd.DataFrame({name or "input": pd.Series(array).infer_objects()})


def _sample_frame(sample: object, traits: ModelTraits) -> pd.DataFrame:
    if traits.input_format == "column":
        frame = _one_column(sample)
        if frame.shape[0] == 0:
            raise SchemaMismatch("the sample has no rows")
        return frame
    if isinstance(sample, pd.DataFrame):
        frame = sample.copy()
        frame.columns = [str(c) for c in frame.columns]
    else:
        try:
            array = np.asarray(sample)
        except (ValueError, TypeError) as exc:
            raise SchemaMismatch(f"the sample is not a table: {exc}") from None
        if array.ndim != 2:
            raise SchemaMismatch(f"the sample must be 2-D (rows × features), got {array.ndim}-D")
        names = traits.feature_names or tuple(f"f{i}" for i in range(array.shape[1]))
        if len(names) != array.shape[1]:
            raise SchemaMismatch(
                f"the sample has {array.shape[1]} columns, the model takes {len(names)}"
            )
        frame = pd.DataFrame(array, columns=list(names))
    if frame.shape[0] == 0:
        raise SchemaMismatch("the sample has no rows")
    if len(set(frame.columns)) != frame.shape[1]:
        raise SchemaMismatch("the sample has duplicate column names")
    if traits.feature_names is not None:
        expected = list(traits.feature_names)
        aligned = _align_sanitised_names(frame, expected)
        if aligned is not None:
            return aligned
        missing = [n for n in expected if n not in frame.columns]
        extra = [n for n in frame.columns if n not in expected]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing[:5])}{'…' if len(missing) > 5 else ''}")
            if extra:
                parts.append(f"unknown {', '.join(extra[:5])}{'…' if len(extra) > 5 else ''}")
            raise SchemaMismatch(
                f"the sample's columns don't match the model's features: {'; '.join(parts)}",
                [{"row": None, "feature": n, "rule": "missing feature"} for n in missing]
                + [{"row": None, "feature": n, "rule": "unknown feature"} for n in extra],
            )
        frame = frame[expected]
    elif traits.n_features is not None and frame.shape[1] != traits.n_features:
        raise SchemaMismatch(
            f"the sample has {frame.shape[1]} columns, the model takes {traits.n_features}"
        )
    return frame


def _align_sanitised_names(frame: pd.DataFrame, expected: list[str]) -> pd.DataFrame | None:
    """Some libraries (LightGBM) store ``mean radius`` as ``mean_radius``; keep the user's names.

    When the sample's columns match the model's only after replacing whitespace with ``_``,
    the signature keeps the sample's names, in the model's order; None when not applicable.
    """
    if set(frame.columns) == set(expected):
        return None
    renamed = {c: re.sub(r"\s", "_", c) for c in frame.columns}
    if len(set(renamed.values())) != len(renamed) or set(renamed.values()) != set(expected):
        return None
    by_model_name = {v: k for k, v in renamed.items()}
    return frame[[by_model_name[name] for name in expected]]


def _try_predict(adapter: ModelAdapter, frame: pd.DataFrame) -> np.ndarray:
    try:
        return np.asarray(adapter.predict(frame))
    except Exception as exc:  # the model's own error, whatever its type
        raise SchemaMismatch(f"the model cannot predict on the sample: {first_line(exc)}") from None


def _reservoir(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    if frame.shape[0] <= rows:
        return frame
    rng = np.random.default_rng(SEED)
    keep = np.sort(rng.choice(frame.shape[0], size=rows, replace=False))
    return frame.iloc[keep]


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.reset_index(drop=True).to_parquet(buffer, index=False)
    return buffer.getvalue()


def _signature_without_sample(traits: ModelTraits) -> Signature:
    if traits.input_format == "column":
        names = ["input"]
    elif traits.feature_names is not None:
        names = list(traits.feature_names)
    elif traits.n_features is not None:
        names = [f"f{i}" for i in range(traits.n_features)]
    else:
        raise SchemaMismatch(
            "the model does not say how many features it takes; pass a sample (--sample)"
        )
    return Signature(
        inputs=tuple(_spec_without_sample(i, n, traits) for i, n in enumerate(names)),
        output=OutputSpec(
            traits.kind,
            tuple(to_plain(c) for c in traits.classes) if traits.classes is not None else None,
            traits.has_proba,
        ),
        input_format=traits.input_format,
    )


def _spec_without_sample(position: int, name: str, traits: ModelTraits) -> FeatureSpec:
    """Without a sample a feature is a number, unless the model reads it as text or as a
    closed category (whose values it then names)."""
    if position in traits.text_inputs:
        return FeatureSpec(name, TEXT, nullable=True)
    if position in traits.closed_inputs:
        return FeatureSpec(name, CLOSED, True, categories=traits.closed_inputs[position])
    return FeatureSpec(name, "float", nullable=True)
