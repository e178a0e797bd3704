"""Loading a registered version: every byte verified against its row before a flavor sees it."""

from __future__ import annotations

from modelyard.domain.entities import ModelVersion
from modelyard.domain.signature import Signature
from modelyard.flavors import get_flavor
from modelyard.runtime.predictor import Predictor
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.version_rows import REFERENCE_FILE

__all__ = ["ESTIMATION_FILES", "REFERENCE_FILE", "load_version"]
ESTIMATION_FILES = "estimation/"  # the monitor's (a regressor's nanny), never the model's


def load_version(version: ModelVersion, artifacts: ArtifactStore) -> Predictor:
    flavor = get_flavor(version.flavor)
    files = {
        ref.name: artifacts.get_bytes(ref.sha256, f"{version.ref} file {ref.name!r}")
        for ref in version.files
        if ref.name != REFERENCE_FILE and not ref.name.startswith(ESTIMATION_FILES)
    }
    adapter = flavor.load(files, version.flavor_meta)
    return Predictor(
        adapter,
        Signature.from_dict(version.signature),
        version.name,
        version.version,
        version.flavor,
    )
