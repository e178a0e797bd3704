"""modelyard: from a trained model file to a monitored, versioned production API.

The public Python API::

    import modelyard
    yard = modelyard.Yard()
    with yard.start_run(experiment="churn") as run:
        ...
        version = yard.register(model, "churn", sample=X_train, run=run)
    yard.set_alias("churn", "production", version.version)
    predictor = yard.load("churn@production")
"""

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
    NotFound,
    SchemaMismatch,
    UnsupportedModel,
    UntrustedContent,
    YardError,
)
from modelyard.runtime.predictor import Predictor
from modelyard.yard import ActiveRun, Yard

__all__ = [
    "ActiveRun",
    "AliasEvent",
    "AlreadyExists",
    "AuditEvent",
    "Conflict",
    "DatasetVersion",
    "IntegrityError",
    "InvalidInput",
    "Model",
    "ModelVersion",
    "NotFound",
    "Predictor",
    "Run",
    "RunStatus",
    "SchemaMismatch",
    "Signature",
    "UnsupportedModel",
    "UntrustedContent",
    "VersionStatus",
    "Yard",
    "YardError",
]
