"""The composition of one yard's storage: the database, its stores and the artifacts.

``open_stores`` is the one place that builds them; migrating the schema is an explicit step
it takes. Services are then given only the stores they use.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from modelyard.config import Settings
from modelyard.errors import Conflict
from modelyard.store.abtests import ABTestStore
from modelyard.store.artifacts import ArtifactStore, Blob
from modelyard.store.blobs import BlobLedger, new_token
from modelyard.store.datasets import DatasetStore
from modelyard.store.db import Database
from modelyard.store.endpoints import EndpointStore
from modelyard.store.keys import KeyStore
from modelyard.store.policies import PolicyStore
from modelyard.store.predictions import PredictionLog
from modelyard.store.registry import RegistryStore
from modelyard.store.rollouts import RolloutStore
from modelyard.store.status import StatusStore
from modelyard.store.tracking import TrackingStore
from modelyard.store.windows import WindowStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stores:
    db: Database
    artifacts: ArtifactStore
    blobs: BlobLedger
    registry: RegistryStore
    tracking: TrackingStore
    datasets: DatasetStore
    endpoints: EndpointStore
    keys: KeyStore
    status: StatusStore
    predictions: PredictionLog
    windows: WindowStore
    rollouts: RolloutStore
    policies: PolicyStore
    abtests: ABTestStore


def open_stores(settings: Settings, *, migrate: bool = True) -> Stores:
    """The database (brought to the newest schema unless told not to) and every store on it."""
    db = Database(settings.resolved_db_url)
    if migrate:
        db.migrate()
    artifacts = ArtifactStore(settings.resolved_artifacts)
    return Stores(
        db=db,
        artifacts=artifacts,
        blobs=BlobLedger(db, artifacts),
        registry=RegistryStore(db),
        tracking=TrackingStore(db),
        datasets=DatasetStore(db),
        endpoints=EndpointStore(db),
        keys=KeyStore(db),
        status=StatusStore(db),
        predictions=PredictionLog(db),
        windows=WindowStore(db),
        rollouts=RolloutStore(db),
        policies=PolicyStore(db),
        abtests=ABTestStore(db),
    )


@contextmanager
def reserved(blobs: BlobLedger, hashes: Collection[str]) -> Iterator[str]:
    """Blobs about to be written and then referenced by a row: reserved so gc leaves them,
    and removed again if the write fails before a row references them. Yields the token the
    row's transaction releases."""
    token = new_token()
    blobs.reserve(token, hashes)
    try:
        yield token
    except BaseException:
        try:
            blobs.discard(token, hashes)
        except Exception:  # cleanup is best effort; gc removes what is left
            log.warning("could not remove blobs of a failed write; run `modelyard gc --apply`")
        raise


def put_unchanged(artifacts: ArtifactStore, source: Path, expected: Blob) -> Blob:
    """Copy a user's file into the artifacts, refusing it if it changed since it was hashed."""
    blob = artifacts.put_file(source)
    if blob != expected:
        raise Conflict(f"{source} changed while it was being stored; try again")
    return blob
