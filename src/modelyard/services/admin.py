"""Running a yard: API keys, garbage collection, backup and restore, the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modelyard.config import Settings
from modelyard.domain.entities import AuditEvent
from modelyard.domain.keys import ApiKey
from modelyard.errors import InvalidInput
from modelyard.store import audit as audit_log
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.backup import BackupReport, Progress, create_backup
from modelyard.store.blobs import BlobLedger, GcReport
from modelyard.store.db import Database
from modelyard.store.keys import KeyStore

if TYPE_CHECKING:
    from modelyard.services.restore import RestoreReport


class Admin:
    """Keys, storage upkeep, backups and the record of who did what."""

    def __init__(
        self,
        db: Database,
        keys: KeyStore,
        artifacts: ArtifactStore,
        blobs: BlobLedger,
        settings: Settings,
        actor: str,
    ) -> None:
        self.db, self.keys, self.artifacts, self.blobs = db, keys, artifacts, blobs
        self.settings, self.actor = settings, actor

    def create_key(
        self,
        scopes: list[str],
        *,
        endpoint: str | None = None,
        description: str = "",
        rate_limit: float | None = None,
        rate_burst: int | None = None,
    ) -> tuple[ApiKey, str]:
        """A new API key and its secret; the secret is returned once and never stored.
        ``rate_limit`` (requests/s per server process, 0: none) overrides the yard-wide
        ``MODELYARD_KEY_RATE_LIMIT``; ``rate_burst`` is what it may spend at once."""
        return self.keys.create(scopes, endpoint, description, self.actor, rate_limit, rate_burst)

    def list_keys(self) -> list[ApiKey]:
        return self.keys.list()

    def revoke_key(self, key_id: str) -> ApiKey:
        return self.keys.revoke(key_id, self.actor)

    def gc(self, *, dry_run: bool = True, grace_seconds: float | None = None) -> GcReport:
        """Find (and unless ``dry_run``, remove) blobs no row references and stale temp files."""
        grace = self.settings.gc_grace_seconds if grace_seconds is None else grace_seconds
        if grace < 0:
            raise InvalidInput(f"grace period must be >= 0 seconds, got {grace}")
        report = self.blobs.collect(dry_run=dry_run, grace_seconds=grace)
        if not dry_run and (report.orphan_blobs or report.temp_files):
            self.db.write(
                lambda s: audit_log.record(
                    s,
                    self.actor,
                    "gc",
                    "artifacts",
                    {
                        "blobs": len(report.orphan_blobs),
                        "temp_files": len(report.temp_files),
                        "bytes": report.bytes,
                    },
                )
            )
        return report

    def backup(self, path: str | Path, progress: Progress | None = None) -> BackupReport:
        """A consistent snapshot of the database plus every referenced blob, as .tar.gz."""
        return create_backup(self.db, self.blobs, Path(path), self.db.schema_revision(), progress)

    def restore(
        self,
        path: str | Path,
        *,
        trust_types: bool = False,
        trust_pickle: bool = False,
        trust_keys: bool = False,
        reissue_keys: bool = False,
        trust_commands: bool = False,
        trust_webhooks: bool = False,
        progress: Progress | None = None,
    ) -> RestoreReport:
        """Load a backup into this yard, which must be empty; every hash is verified.

        An archive is outside data: versions that would run code on load are refused, and
        keys, commands and webhooks are left out (and listed) unless a flag brings them in
        (``reissue_keys`` brings keys in with new secrets). See ``modelyard.services.restore``.
        """
        from modelyard.services.restore import RestoreFlags, restore_yard

        flags = RestoreFlags(
            trust_types=trust_types,
            trust_pickle=trust_pickle,
            trust_keys=trust_keys,
            reissue_keys=reissue_keys,
            trust_commands=trust_commands,
            trust_webhooks=trust_webhooks,
        )
        return restore_yard(self.db, self.artifacts, self.actor, Path(path), flags, progress)

    def audit(
        self,
        target: str | None = None,
        action: str | None = None,
        limit: int = 100,
        *,
        actor: str | None = None,
        before: int | None = None,
    ) -> list[AuditEvent]:
        """Newest first; ``before`` (an event's seq) pages further back."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
            raise InvalidInput(f"limit must be between 1 and 100000, got {limit}")
        return self.db.read(
            lambda s: audit_log.list_events(
                s, target=target, action=action, limit=limit, actor=actor, before=before
            )
        )

    def revision(self) -> int:
        return self.db.read(audit_log.revision)
