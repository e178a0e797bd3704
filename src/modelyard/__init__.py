"""modelyard: from a trained model file to a monitored, versioned production API.

The public Python API::

    import modelyard
    yard = modelyard.Yard()
    with yard.start_run(experiment="churn") as run:
        ...
        version = yard.register(model, "churn", sample=X_train, run=run)
    yard.set_alias("churn", "production", version.version)
    predictor = yard.load("churn@production")

    model = modelyard.load("churn@production")   # one call, on the environment's yard
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelyard.domain.entities import (
        AliasEvent,
        AuditEvent,
        DatasetVersion,
        Model,
        ModelVersion,
        Run,
        RunStatus,
        VersionStatus,
    )
    from modelyard.domain.signature import Signature
    from modelyard.errors import (
        AlreadyExists,
        Conflict,
        IntegrityError,
        InvalidInput,
        NoReferenceWarning,
        NotFound,
        SchemaMismatch,
        StoreUnavailable,
        UnsupportedModel,
        UntrustedContent,
        YardError,
    )
    from modelyard.flavors.custom import Context, PythonModel
    from modelyard.runtime.predictor import Predictor
    from modelyard.shortcuts import load, register
    from modelyard.yard import ActiveRun, Yard

# Heavy modules (pandas, scikit-learn) load on first use, so `modelyard --help` stays fast.
_LAZY = {
    "ActiveRun": "modelyard.yard",
    "AliasEvent": "modelyard.domain.entities",
    "AlreadyExists": "modelyard.errors",
    "AuditEvent": "modelyard.domain.entities",
    "Conflict": "modelyard.errors",
    "Context": "modelyard.flavors.custom",
    "DatasetVersion": "modelyard.domain.entities",
    "IntegrityError": "modelyard.errors",
    "InvalidInput": "modelyard.errors",
    "Model": "modelyard.domain.entities",
    "NoReferenceWarning": "modelyard.errors",
    "ModelVersion": "modelyard.domain.entities",
    "NotFound": "modelyard.errors",
    "Predictor": "modelyard.runtime.predictor",
    "PythonModel": "modelyard.flavors.custom",
    "Run": "modelyard.domain.entities",
    "RunStatus": "modelyard.domain.entities",
    "SchemaMismatch": "modelyard.errors",
    "StoreUnavailable": "modelyard.errors",
    "Signature": "modelyard.domain.signature",
    "UnsupportedModel": "modelyard.errors",
    "UntrustedContent": "modelyard.errors",
    "VersionStatus": "modelyard.domain.entities",
    "Yard": "modelyard.yard",
    "YardError": "modelyard.errors",
    "load": "modelyard.shortcuts",
    "register": "modelyard.shortcuts",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'modelyard' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "ActiveRun",
    "AliasEvent",
    "AlreadyExists",
    "AuditEvent",
    "Conflict",
    "Context",
    "DatasetVersion",
    "IntegrityError",
    "InvalidInput",
    "Model",
    "ModelVersion",
    "NoReferenceWarning",
    "NotFound",
    "Predictor",
    "PythonModel",
    "Run",
    "RunStatus",
    "SchemaMismatch",
    "Signature",
    "StoreUnavailable",
    "UnsupportedModel",
    "UntrustedContent",
    "VersionStatus",
    "Yard",
    "YardError",
    "load",
    "register",
]
