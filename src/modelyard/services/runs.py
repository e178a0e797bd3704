"""The handle a training script holds while a run is open."""

from __future__ import annotations

import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from modelyard.domain.entities import FileRef, Run, RunStatus
from modelyard.errors import InvalidInput, NotFound
from modelyard.services.stores import put_unchanged, reserved
from modelyard.store.artifacts import ArtifactStore, sha256_file
from modelyard.store.blobs import BlobLedger
from modelyard.store.tracking import TrackingStore


class ActiveRun:
    """``with yard.start_run(...) as run:`` — finished on exit, failed if an exception escapes."""

    def __init__(
        self,
        tracking: TrackingStore,
        blobs: BlobLedger,
        artifacts: ArtifactStore,
        actor: str,
        run_id: str,
    ) -> None:
        self._tracking, self._blobs, self._artifacts = tracking, blobs, artifacts
        self._actor = actor
        self.id = run_id
        self._ended = False

    def log_param(self, key: str, value: Any) -> None:
        self._tracking.log_params(self.id, {key: value})

    def log_params(self, params: dict[str, Any]) -> None:
        self._tracking.log_params(self.id, params)

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        self._tracking.log_metrics(self.id, {key: value}, step)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._tracking.log_metrics(self.id, metrics, step)

    def log_artifact(self, path: str | Path, name: str | None = None) -> FileRef:
        source = Path(path)
        if not source.is_file():
            raise NotFound(f"{source}: no such file")
        logical = name or source.name
        if (
            "/" in logical
            or logical in (".", "..")
            or not logical
            or len(logical) > 512
            or ("\0" in logical)
        ):
            raise InvalidInput(f"invalid artifact name {logical!r}: 1–512 characters, no '/'")
        expected = sha256_file(source)
        with reserved(self._blobs, [expected.sha256]) as token:
            blob = put_unchanged(self._artifacts, source, expected)
            ref = FileRef(logical, blob.sha256, blob.size)
            self._tracking.add_file(self.id, ref, token)
        return ref

    def info(self) -> Run:
        return self._tracking.get_run(self.id)

    def end(self, status: RunStatus = RunStatus.FINISHED, error: str = "") -> None:
        self._tracking.end_run(self.id, status, self._actor, error)
        self._ended = True

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._ended:  # ended explicitly inside the block
            return
        if exc is None:
            self.end(RunStatus.FINISHED)
        else:
            detail = "".join(traceback.format_exception_only(exc)).strip()
            self.end(RunStatus.FAILED, detail)
