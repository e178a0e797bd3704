"""``modelyard.load`` and ``modelyard.register``: one call each, on the yard the
environment names (``MODELYARD_HOME`` / ``MODELYARD_DB_URL`` / ``MODELYARD_ARTIFACTS``).

For an application that only needs a model at start-up — ``model = modelyard.load(
"churn@production")`` — without holding a database connection for its whole life.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelyard.domain.entities import ModelVersion
    from modelyard.runtime.predictor import Predictor


def load(ref: str, version: int | None = None, *, home: str | Path | None = None) -> Predictor:
    """The hash-verified model behind ``ref`` (``churn@production``, ``churn@3``, ``churn``),
    ready to ``predict``; the yard is closed again before this returns."""
    from modelyard.yard import Yard

    with Yard(home) as yard:
        return yard.load(ref, version)


def register(
    model: Any, name: str, *, home: str | Path | None = None, **options: Any
) -> ModelVersion:
    """``Yard.register`` on the environment's yard (same options: ``sample``, ``metrics`` …)."""
    from modelyard.yard import Yard

    with Yard(home) as yard:
        return yard.register(model, name, **options)
