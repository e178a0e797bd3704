"""What served traffic left behind: predictions, feedback, monitor windows, server reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from modelyard.domain.endpoints import Endpoint, ReplicaStatus
from modelyard.domain.entities import ModelVersion
from modelyard.domain.monitoring import KEEP_FINE
from modelyard.errors import InvalidInput
from modelyard.store import audit as audit_log
from modelyard.store.db import Database
from modelyard.store.endpoints import EndpointStore
from modelyard.store.predictions import FeedbackResult, LogRow, PredictionLog
from modelyard.store.registry import RegistryStore
from modelyard.store.schema import utcnow
from modelyard.store.status import StatusStore
from modelyard.store.windows import StoredWindow, WindowStore

if TYPE_CHECKING:
    from modelyard.monitoring.compaction import Compacted
    from modelyard.store.artifacts import ArtifactStore


@dataclass(frozen=True)
class Pruned:
    predictions: int
    feedback: int
    windows: int
    cutoff: datetime


class Monitor:
    """The records monitoring reads: logged predictions, ground truth, windows, replicas."""

    def __init__(
        self,
        db: Database,
        predictions: PredictionLog,
        windows: WindowStore,
        status: StatusStore,
        endpoints: EndpointStore,
        registry: RegistryStore,
        actor: str,
        artifacts: ArtifactStore | None = None,
    ) -> None:
        self.db, self.predictions, self.windows, self.status = db, predictions, windows, status
        self.endpoints, self.registry, self.actor = endpoints, registry, actor
        self.artifacts = artifacts

    def get_endpoint(self, name: str) -> Endpoint:
        return self.endpoints.get(name)

    def get_version(self, ref: str, version: int | None = None) -> ModelVersion:
        return self.registry.resolve(ref, version)

    def monitor_profile(self, ref: str) -> tuple[dict[str, Any], bool]:
        """A version's reference profile, and whether it classifies (for its output sketch)."""
        version = self.registry.resolve(ref)
        profile = self.registry.profile(version.name, version.version)
        return profile, version.signature.get("output", {}).get("kind") == "classification"

    def loss_estimator(self, ref: str) -> Any | None:
        """A regressor's nanny model (direct loss estimation), its bytes verified against
        the version's row, ready for ``predict`` (as lookup tables where its trees allow);
        None when the version has none."""
        from modelyard.flavors import get_flavor
        from modelyard.monitoring.loss_estimation import NANNY_FILE
        from modelyard.monitoring.tree_tables import fast_predictor

        version = self.registry.resolve(ref)
        stored = next((f for f in version.files if f.name == NANNY_FILE), None)
        if stored is None or self.artifacts is None:
            return None
        meta = self.registry.profile(version.name, version.version)["estimation"]["nanny_meta"]
        data = self.artifacts.get_bytes(stored.sha256, f"{version.ref} file {NANNY_FILE!r}")
        return fast_predictor(get_flavor("sklearn").load({"model.skops": data}, meta))

    def log_predictions(self, rows: Sequence[LogRow | Mapping[str, Any]]) -> None:
        self.predictions.append(rows)

    def save_windows(self, windows: Sequence[StoredWindow]) -> None:
        self.windows.save(windows)

    def add_feedback(self, endpoint: str, items: Sequence[tuple[str, str]]) -> FeedbackResult:
        """Ground truth for predictions of ``endpoint``: (prediction id, actual as JSON)."""
        self.endpoints.get(endpoint)
        return self.predictions.add_feedback(endpoint, items, utcnow())

    def prune_monitoring(self, older_than: timedelta, *, dry_run: bool = False) -> Pruned:
        """Delete prediction rows, their feedback and monitor windows older than the cutoff."""
        cutoff = utcnow() - older_than
        predictions, feedback = self.predictions.prune(cutoff, dry_run)
        windows = self.windows.prune(cutoff, dry_run)
        if not dry_run:
            self.db.write(
                lambda session: audit_log.record(
                    session,
                    self.actor,
                    "monitor.prune",
                    "monitoring",
                    {
                        "older_than_seconds": older_than.total_seconds(),
                        "predictions": predictions,
                        "feedback": feedback,
                        "windows": windows,
                    },
                )
            )
        return Pruned(predictions, feedback, windows, cutoff)

    def compact_monitoring(self, older_than: timedelta = KEEP_FINE) -> Compacted:
        """Fold monitor windows of whole hours older than ``older_than`` into hourly ones
        (the controller does it hourly; totals, drift and quality do not change)."""
        if older_than < timedelta(hours=1):
            raise InvalidInput("older_than must be at least 1h: recent windows are still written")
        from modelyard.monitoring.compaction import compact

        return compact(self, older_than)

    def report_serving(self, replica: str, statuses: dict[str, tuple[str | None, str]]) -> None:
        """A server process says what it serves per endpoint (and what failed to load)."""
        self.status.report(replica, statuses)

    def serving_status(self, endpoint: str) -> list[ReplicaStatus]:
        """What each live server process reported for ``endpoint``."""
        return self.status.list(endpoint)
