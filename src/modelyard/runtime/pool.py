"""Loaded model versions: verified, warmed, run by one thread each, shared by endpoints.

A version is loaded in a worker thread (the event loop keeps serving), its bytes verified
against the registry, and warmed on a few real rows before anything is routed to it.
Versions no endpoint uses any more are kept for a grace period, so a rollback within it
is instant, then closed.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import psutil

from modelyard.domain.entities import ModelVersion
from modelyard.domain.signature import Signature
from modelyard.errors import ModelFailed
from modelyard.runtime.inputs import Columns, from_frame
from modelyard.runtime.loader import REFERENCE_FILE, load_version
from modelyard.runtime.runner import ModelRunner
from modelyard.store.artifacts import ArtifactStore

log = logging.getLogger(__name__)
WARM_ROWS = 8
SEED_ROWS = 64  # rows of the timed call that seeds the cost per row (a multiple of WARM_ROWS)
WARM_TIMEOUT_SECONDS = 300.0  # a model that cannot answer 8 rows in this long never will


@dataclass
class LoadedVersion:
    ref: str
    version: ModelVersion
    runner: ModelRunner
    load_seconds: float
    # Resident memory the process gained while loading and warming it: the model's size in
    # memory, roughly (loads running at the same time count each other's; freed memory
    # that the allocator keeps is not given back). None where it cannot be read.
    memory_bytes: int | None = None
    loaded_at: float = field(default_factory=time.time)

    # Read by every request: made once per loaded version.
    @cached_property
    def signature(self) -> Signature:
        return self.runner.predictor.signature

    @cached_property
    def classes(self) -> list[object]:
        """The classes as the response lists them (empty when the model has none)."""
        return list(self.signature.output.classes or ())


def _resident_bytes() -> int | None:
    try:
        return int(psutil.Process().memory_info().rss)
    except psutil.Error:
        return None


class ModelPool:
    def __init__(
        self, artifacts: ArtifactStore, native_threads: int = 1, grace_seconds: float = 300.0
    ) -> None:
        self.artifacts = artifacts
        self.native_threads = native_threads
        self.grace_seconds = grace_seconds
        self._loaded: dict[str, LoadedVersion] = {}
        self._retired: dict[str, float] = {}  # ref -> when it stopped being used
        self._loading: dict[str, asyncio.Task[LoadedVersion]] = {}

    @property
    def loaded(self) -> dict[str, LoadedVersion]:
        return dict(self._loaded)

    async def acquire(self, version: ModelVersion) -> LoadedVersion:
        """The loaded version, loading (once, even if asked concurrently) if needed."""
        ref = version.ref
        self._retired.pop(ref, None)
        if ref in self._loaded:
            return self._loaded[ref]
        task = self._loading.get(ref)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._load(version))
            self._loading[ref] = task
        try:
            loaded = await task
        finally:
            self._loading.pop(ref, None)
        self._loaded[ref] = loaded
        return loaded

    async def _load(self, version: ModelVersion) -> LoadedVersion:
        started, before = time.perf_counter(), _resident_bytes()
        runner = await asyncio.to_thread(self._load_blocking, version)
        seconds, after = time.perf_counter() - started, _resident_bytes()
        grown = None if before is None or after is None else max(0, after - before)
        log.info("loaded %s in %.2fs", version.ref, seconds)
        return LoadedVersion(version.ref, version, runner, seconds, grown)

    def _load_blocking(self, version: ModelVersion) -> ModelRunner:
        predictor = load_version(version, self.artifacts)
        runner = ModelRunner(predictor, self.native_threads)
        rows = self._warm_rows(version, predictor.signature)
        warm = runner.submit(rows)
        try:
            warm.result(timeout=WARM_TIMEOUT_SECONDS)
            # Timed once warm (the first call pays one-time costs), on a full batch's worth
            # of rows so a per-call cost is not taken for a per-row one: the cost per row
            # admission starts from, until real batches refine it.
            batch = Columns.concat([rows] * max(1, SEED_ROWS // max(1, rows.rows)))
            seeded = runner.submit(batch).result(timeout=WARM_TIMEOUT_SECONDS)
            runner.cost.seed(batch.rows, seeded.seconds)
        except TimeoutError:
            runner.abandon(warm, WARM_TIMEOUT_SECONDS)
            runner.close(wait=False)
            raise ModelFailed(
                f"{version.ref} did not answer its warm-up rows within {WARM_TIMEOUT_SECONDS:g} s"
            ) from None
        except BaseException:
            runner.close(wait=False)
            raise
        return runner

    def _warm_rows(self, version: ModelVersion, signature: Signature) -> Columns:
        """A few rows of the registration sample, or values made from the signature."""
        try:
            ref = version.file(REFERENCE_FILE)
        except KeyError:
            return _synthetic_rows(signature)
        data = self.artifacts.get_bytes(ref.sha256, f"{version.ref} file {REFERENCE_FILE!r}")
        frame = pd.read_parquet(io.BytesIO(data)).head(WARM_ROWS)
        return from_frame(signature, frame)

    async def renew(self, version: ModelVersion) -> LoadedVersion:
        """Load a fresh copy of a loaded version (its model object and thread) in place of
        the one in use, which is closed without waiting for its hung calls."""
        fresh = await self._load(version)
        old = self._loaded.get(version.ref)
        self._loaded[version.ref] = fresh
        if old is not None:
            await asyncio.to_thread(old.runner.close, False)
        return fresh

    def release(self, ref: str) -> None:
        """No endpoint routes to ``ref`` any more: start its grace period."""
        if ref in self._loaded:
            self._retired.setdefault(ref, time.monotonic())

    def expired(self) -> list[LoadedVersion]:
        """Remove and return versions whose grace period is over (the caller closes them)."""
        now = time.monotonic()
        gone = [ref for ref, since in self._retired.items() if now - since >= self.grace_seconds]
        out = []
        for ref in gone:
            self._retired.pop(ref)
            loaded = self._loaded.pop(ref, None)
            if loaded is not None:
                out.append(loaded)
        return out

    def close(self) -> None:
        for loaded in self._loaded.values():
            loaded.runner.close()
        self._loaded.clear()


def _synthetic_rows(signature: Signature) -> Columns:
    arrays: dict[str, np.ndarray] = {}
    for spec in signature.inputs:
        if spec.kind == "tensor":  # zeros of the row shape (any size: 1)
            shape = tuple(d or 1 for d in spec.shape or ())
            column = np.empty(WARM_ROWS, dtype=object)
            column[:] = [np.zeros(shape, dtype=spec.dtype or "float32") for _ in range(WARM_ROWS)]
            arrays[spec.name] = column
        elif spec.numeric:
            low = spec.min if spec.min is not None else 0.0
            arrays[spec.name] = np.full(WARM_ROWS, low, dtype=float)
        else:
            first = spec.categories[0] if spec.categories else ""
            arrays[spec.name] = np.full(WARM_ROWS, first, dtype=object)
    return Columns(tuple(signature.names), WARM_ROWS, arrays=arrays)
