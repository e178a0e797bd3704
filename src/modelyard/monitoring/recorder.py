"""The server-side observer: queue prediction events, and on a thread of its own every
flush interval (or sooner, once ``flush_rows`` rows wait) count them into window sketches
and write them with the prediction log.

The event loop only appends to a list under a lock; the vectorised sketch updates, JSON
encoding and database writes all happen here, once per flush for every request in it.
The queue is bounded: past ``max_pending_rows`` queued rows, new requests are neither
logged nor counted in the sketches, only in ``dropped_rows`` (the server never slows down or
runs out of memory because monitoring cannot keep up). Log rows whose write failed (the
database is down) are kept, up to ``max_unwritten_bytes`` of them, and written again at the
next flush; past that bound the newest are dropped and counted in ``dropped_rows`` too.
Inserts ignore rows already there, so a write that committed but looked failed is not
counted twice. Windows are counted whatever happens to the log, and kept until a save
succeeds (they merge by addition); a failed save is tried again after a growing wait, and
the windows it kept are bounded by ``max_unsaved_bytes`` (monitoring/outage.py).

Shadow answers are counted and logged under the shadow's version marked as a shadow
(``churn@5~shadow``), so they have windows and log rows of their own that no reader of
answered traffic, errors or feedback mistakes for answers; the comparison with the
answering version goes into the same window.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from modelyard.domain.endpoints import shadow_label, shadowed_ref
from modelyard.domain.refusal_rules import OTHER, known_rule
from modelyard.errors import NotFound
from modelyard.monitoring.event_groups import bucket_of, group_events, parts_of, release
from modelyard.monitoring.log_rows import group_log_rows
from modelyard.monitoring.loss_estimation import nanny_inputs
from modelyard.monitoring.outage import Backoff, Key, encoded_size, keep_to_bound, shed
from modelyard.monitoring.segments import Segmenters
from modelyard.monitoring.stacked import Stacked, stack
from modelyard.monitoring.window import Window, add_output, add_scores, output_profile
from modelyard.runtime.events import PredictionEvent, ShadowEvent
from modelyard.store.predictions import LogColumns, LogRow
from modelyard.store.windows import StoredWindow

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Where the recorder reads profiles and writes (the monitor service provides it)."""

    def monitor_profile(self, ref: str) -> tuple[dict[str, Any], bool]: ...

    def log_predictions(self, rows: Sequence[LogRow]) -> None: ...

    def save_windows(self, windows: Sequence[StoredWindow]) -> None: ...


@dataclass
class _Error:
    endpoint: str
    version: str
    status: int
    at: float
    rule: str | None = None  # a refusal's (4xx) rule


FLUSH_NICE = 10
# Rows and requests of a group counted and encoded together: each array call of a flush
# holds the interpreter lock from start to end, so a part bounds how long the event loop
# can wait (a whole second of 100-row requests stacked at once stalled it for tens of ms;
# so did 8,192 one-row requests when each carried its own copy of its rows: 10-20 ms).
ROWS_PER_PART = 8192
REQUESTS_PER_PART = 1024


class Recorder:
    def __init__(
        self,
        sink: Sink,
        *,
        bucket_seconds: int = 300,
        flush_seconds: float = 1.0,
        flush_rows: int = 4096,
        max_pending_rows: int = 200_000,
        max_unwritten_bytes: int = 64 * 2**20,
        max_unsaved_bytes: int = 32 * 2**20,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.sink = sink
        self.bucket_seconds = bucket_seconds
        self.flush_seconds = flush_seconds
        # A flush starts as soon as this many rows wait: a second of a busy server's events
        # held at once (tens of thousands of objects, their arrays and ids) cost the event
        # loop more per request than the same rows flushed in smaller, more frequent
        # batches (bench/README.md, 2026-12-07).
        self.flush_rows = flush_rows
        self.max_pending_rows = max_pending_rows
        self.max_unwritten_bytes = max_unwritten_bytes
        self.max_unsaved_bytes = max_unsaved_bytes
        self.replica = f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.dropped_rows = 0
        self.flush_failures = 0
        self.folded_windows = 0  # unsaved windows whose segments were dropped (outage)
        self.dropped_windows = 0  # unsaved windows dropped whole (outage)
        self._clock = clock
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._events: list[PredictionEvent] = []
        self._errors: list[_Error] = []
        self._shadows: list[ShadowEvent] = []
        self._pending_rows = 0
        self._windows: dict[Key, Window] = {}
        self._dirty: set[Key] = set()  # windows changed since they were last saved
        self._late: dict[Key, str] = {}  # windows of forgotten buckets: their own replica id
        self._horizon = 0  # buckets before this start were forgotten
        self._saved_at = 0.0
        self.window_save_seconds = max(flush_seconds, min(5.0, bucket_seconds / 2))
        self._backoff = Backoff(self.window_save_seconds)  # after failed window saves
        self._unsaved: dict[Key, int] = {}  # windows a failed save kept → encoded bytes
        self._shedding = False  # windows were shed in this outage (warned once)
        self._gone: set[Key] = set()  # windows dropped unsaved, their buckets not forgotten
        self._folded: set[Key] = set()  # windows whose segments were shed: saved without any
        self._unwritten = LogColumns()  # log rows a failed flush kept for retry
        self.unwritten_bytes = 0  # their estimated size in memory
        self._profiles: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {}
        self._nannies: dict[str, Any] = {}  # version → its loss estimator (None: has none)
        self._nanny_misses: set[str] = set()  # versions whose estimator failed to load this flush
        self._segments = Segmenters()
        self._stop = threading.Event()
        self._wake = threading.Event()  # set: flush now (rows waiting, or stopping)
        self._thread: threading.Thread | None = None
        self._random = random.Random()

    # -- the observer (event loop side) ----------------------------------------------------

    def predicted(self, event: PredictionEvent) -> None:
        rows = len(event.prediction_ids)
        with self._lock:
            if self._pending_rows + rows > self.max_pending_rows:
                self.dropped_rows += rows
                return
            self._events.append(event)
            pending = self._pending_rows = self._pending_rows + rows
        if pending >= self.flush_rows and not self._wake.is_set():
            self._wake.set()

    def failed(self, endpoint: str, version: str, status: int, rule: str | None = None) -> None:
        rule = known_rule(rule or OTHER) if 400 <= status < 500 else None
        with self._lock:
            if len(self._errors) < self.max_pending_rows:
                self._errors.append(_Error(endpoint, version, status, self._now(), rule))

    def shadowed(self, event: ShadowEvent) -> None:
        cost = event.rows if event.prediction is not None else 1
        with self._lock:
            if self._pending_rows + cost > self.max_pending_rows:
                self.dropped_rows += event.rows
                return
            self._shadows.append(event)
            self._pending_rows += cost

    # -- the flusher (its own thread) ------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="monitor-flush", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        _lower_priority()
        failing = 0  # flushes failed in a row: one traceback per outage, not one a second
        while True:
            if failing:  # the store is down: no early flushes, one try an interval
                self._stop.wait(self.flush_seconds)
            else:
                self._wake.wait(self.flush_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.flush(every_window=False)
            except Exception as exc:  # the store may be down: keep serving, retry next time
                self.flush_failures += 1
                failing += 1
                if failing == 1:
                    log.exception("monitoring flush failed; will retry")
                else:
                    log.debug("monitoring flush failed again (%d in a row): %s", failing, exc)
            else:
                if failing:
                    log.warning("monitoring flush works again after %d failures", failing)
                failing = 0

    def close(self) -> None:
        """Stop the thread and write everything still queued (graceful shutdown)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()

    def flush(self, every_window: bool = True) -> None:
        """Count queued events into windows, write their log rows, and save the windows
        that changed (the periodic flush saves them only every few seconds and when
        their bucket ends; an explicit flush saves them all)."""
        with self._flush_lock:
            with self._lock:
                events, self._events = self._events, []
                errors, self._errors = self._errors, []
                shadows, self._shadows = self._shadows, []
                self._pending_rows = 0
            events += [s.prediction for s in shadows if s.prediction is not None]
            rows, self._unwritten = self._unwritten, LogColumns()
            self._nanny_misses.clear()
            try:
                self._count_groups(events, rows)
            except Exception:  # the rows a failed write kept earlier are kept still
                self._keep_unwritten(rows)
                raise
            seconds = self.bucket_seconds
            for error in errors:
                key = (error.endpoint, error.version, bucket_of(error.at, seconds))
                self._window(key).add_error(error.status, rule=error.rule)
                self._dirty.add(key)
            for shadow in shadows:
                key = (shadow.endpoint, shadow_label(shadow.version), bucket_of(shadow.at, seconds))
                stats = self._window(key).compared_with(shadow.primary)
                if shadow.comparison is not None and shadow.prediction is not None:
                    latency = shadow.prediction.latency_ms
                    stats.add(shadow.comparison, latency, shadow.primary_latency_ms)
                else:
                    stats.add_missed(shadow.rows, skipped=shadow.outcome == "skipped")
                self._dirty.add(key)
            failure: Exception | None = None
            try:
                self.sink.log_predictions(rows)
            except Exception as exc:  # kept for the next flush (inserts are idempotent)
                self._keep_unwritten(rows)
                failure = exc
            else:
                self.unwritten_bytes = 0
            try:
                self._save_windows(every_window)
            finally:
                self._forget_old_buckets()
                release(events, REQUESTS_PER_PART)
            if failure is not None:
                raise failure

    def _count_groups(self, events: list[PredictionEvent], rows: LogColumns) -> None:
        """Count each endpoint × version × bucket's events into its window, in parts of
        ``ROWS_PER_PART`` rows, and add their log rows to ``rows``."""
        for key, group in group_events(events, self.bucket_seconds).items():
            window = self._window(key, group[0].log_inputs > 0)
            self._dirty.add(key)  # before counting: a part that fails leaves it counted
            for part in parts_of(group, ROWS_PER_PART, REQUESTS_PER_PART):
                batch = stack(part)  # concatenated once for every count below
                _count(window, part, batch)
                losses = None
                if window.losses is not None:
                    losses = self._estimate_losses(key[1], window, batch)
                segments = self._segments.count(key[1], window, part, batch, losses)
                rows.extend(self._log_rows(part, segments, batch))

    def _keep_unwritten(self, rows: LogColumns) -> None:
        """Keep the oldest rows of a failed write up to the byte bound; count the rest."""
        self._unwritten, self.unwritten_bytes, dropped = keep_to_bound(
            rows, self.max_unwritten_bytes
        )
        if dropped:
            with self._lock:
                self.dropped_rows += dropped

    def _save_windows(self, every_window: bool) -> None:
        """Save the changed windows (the periodic flush: when due and not backing off
        after a failure). A failure leaves them dirty, saved with everything counted since
        at a later try; until then they are measured and kept to their bound."""
        now = self._now()
        if not self._dirty:
            return
        if not every_window and not (self._backoff.ready(now) and self._windows_due()):
            return
        dirty = sorted(self._dirty)
        stored = [self._stored(key) for key in dirty]
        try:
            self.sink.save_windows(stored)
        except Exception:
            self._backoff.failed(now)
            self._unsaved = {k: encoded_size(w.sketch) for k, w in zip(dirty, stored, strict=True)}
            self._shed(now)
            raise
        self._dirty.difference_update(dirty)
        self._unsaved.clear()
        self._shedding = False
        self._backoff.succeeded()
        self._saved_at = now

    def _shed(self, now: float) -> None:
        """Past ``max_unsaved_bytes`` of unsaved windows: segments, then old windows go."""
        current = bucket_of(now, self.bucket_seconds)
        done = shed(self._windows, self._unsaved, current, self.max_unsaved_bytes)
        for key in [k for k in self._dirty if k not in self._windows]:
            self._dirty.discard(key)
            self._late.pop(key, None)
            self._gone.add(key)  # its stored row, if any, must not be overwritten
            self._folded.discard(key)
        self._folded.update(done.folded)
        if done.folded or done.dropped:
            self.folded_windows += len(done.folded)
            self.dropped_windows += done.dropped
            first = not self._shedding  # one warning per outage, then debug lines
            self._shedding = True
            (log.warning if first else log.debug)(
                "database down: %d unsaved windows lost their segments, %d were dropped "
                "(%d rows), to keep them under %d bytes",
                len(done.folded),
                done.dropped,
                done.rows,
                self.max_unsaved_bytes,
            )

    @property
    def unsaved_window_bytes(self) -> int:
        """The encoded size of the windows a failed save kept, as last measured."""
        return sum(self._unsaved.values())

    def _windows_due(self) -> bool:
        """Windows are whole sketches: rewrite them every few seconds, not every flush,
        and at once when a bucket they belong to has ended."""
        now = self._now()
        if now - self._saved_at >= self.window_save_seconds:
            return True
        current = bucket_of(now, self.bucket_seconds)
        return any(key[2] < current for key in self._dirty)

    def _log_rows(
        self,
        events: list[PredictionEvent],
        segments: list[str | None] | None = None,
        batch: Stacked | None = None,
    ) -> LogColumns:
        try:  # the usual case: every answer of the group encoded in a few array calls
            if batch is not None:
                return group_log_rows(
                    events, self._random, segments, batch.predictions, batch.probabilities
                )
            return group_log_rows(events, self._random, segments)
        except Exception:  # mixed shapes or odd values: one request at a time, below
            log.debug("encoding %d requests one by one", len(events))
        rows = LogColumns()
        offset = 0
        for event in events:
            size = event.rows
            offset += size
            own = segments[offset - size : offset] if segments is not None else None
            try:
                rows.extend(group_log_rows([event], self._random, own))
            except Exception:  # one unencodable answer must not cost the others
                with self._lock:
                    self.dropped_rows += size
                log.exception("could not encode the prediction rows of %s", event.version)
        return rows

    def _window(self, key: Key, keep_values: bool = False) -> Window:
        window = self._windows.get(key)
        if window is None:
            profile, output_spec = self._profile(key[1])
            window = self._windows[key] = Window.empty(profile, output_spec, keep_values)
            if key[2] < self._horizon or key in self._gone:
                # This bucket's window was saved and forgotten (or dropped unsaved in an
                # outage): a fresh one would overwrite the stored counts, so late rows go
                # to a row of their own.
                self._late[key] = f"{self.replica}:late:{uuid.uuid4().hex[:8]}"
        return window

    def _profile(self, ref: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        cached = self._profiles.get(ref)
        if cached is not None:
            return cached
        try:
            profile, classification = self.sink.monitor_profile(shadowed_ref(ref) or ref)
        except NotFound:  # deleted version: traffic still counts, there is nothing to compare
            profile, classification = {}, False
        except Exception:  # a store hiccup: count traffic now, try the profile again later
            log.warning("reference profile of %s not readable now; will retry", ref)
            return {}, None
        found = (profile, output_profile(profile, classification))
        if profile:  # none yet: asked again for the next window (`profile set` may add one)
            self._profiles[ref] = found
        return found

    def _estimate_losses(self, ref: str, window: Window, batch: Stacked) -> np.ndarray | None:
        """Run the version's nanny model on the batch (loaded once per version); the
        rows' estimated losses."""
        assert window.losses is not None
        if ref in self._nanny_misses:
            return None
        if ref not in self._nannies:
            find = getattr(self.sink, "loss_estimator", None)
            try:
                self._nannies[ref] = find(shadowed_ref(ref) or ref) if find else None
            except Exception:  # a store hiccup: no estimate this flush, tried again next
                self._nanny_misses.add(ref)
                log.exception("the loss estimator of %s could not be loaded", ref)
                return None
        nanny = self._nannies[ref]
        if nanny is None:
            return None
        if batch.predictions is None:
            return None
        try:
            names = window.profile["estimation"]["inputs"]
            columns = batch.columns
            matrix = nanny_inputs({n: columns.column(n) for n in names}, names, batch.predictions)
            losses = np.asarray(nanny.predict(matrix), dtype=float)
            window.losses.add(losses)
            return losses
        except Exception:  # odd values: the estimate skips this batch, the rest counts
            log.exception("could not estimate the losses of %s", ref)
            return None

    def _stored(self, key: Key) -> StoredWindow:
        endpoint, version, start = key
        if key in self._folded:  # segments counted since its fold would be a partial set
            self._windows[key].segments = {}
        return StoredWindow(
            endpoint=endpoint,
            version=version,
            bucket_start=datetime.fromtimestamp(start, UTC),
            bucket_seconds=self.bucket_seconds,
            replica=self._late.get(key, self.replica),
            sketch=self._windows[key].to_json(),
        )

    def _forget_old_buckets(self) -> None:
        """Buckets that ended a bucket ago are written for the last time; memory stays
        bounded."""
        self._horizon = bucket_of(self._now(), self.bucket_seconds) - self.bucket_seconds
        for key in [k for k in self._windows if k[2] < self._horizon and k not in self._dirty]:
            del self._windows[key]
            self._late.pop(key, None)
        self._gone = {k for k in self._gone if k[2] >= self._horizon}
        self._folded &= self._windows.keys()
        live = {k[1] for k in self._windows}
        for ref in [r for r in self._profiles if r not in live]:
            del self._profiles[ref]
        for ref in [r for r in self._nannies if r not in live]:
            del self._nannies[ref]
        self._segments.forget(live)

    def _now(self) -> float:
        return self._clock() if self._clock is not None else datetime.now(UTC).timestamp()


def _lower_priority() -> None:
    """Run this thread at a lower CPU priority (Linux applies nice per thread): when cores
    are scarce the scheduler serves requests first and monitoring catches up after."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), FLUSH_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: normal priority
        log.debug("monitoring thread keeps normal priority")


def _count(window: Window, events: list[PredictionEvent], batch: Stacked) -> None:
    """One vectorised update for all the rows of a group of requests."""
    columns = batch.columns
    for name, sketch in window.features.items():
        if name in columns.names:
            try:
                sketch.add(columns.column(name))
            except Exception:  # one odd column must not cost the others or the log
                log.exception("could not count feature %r into its sketch", name)
    if batch.predictions is not None:
        try:
            add_output(window, batch.predictions)
        except Exception:  # answers of odd types: traffic still counts
            log.exception("could not count the outputs of %s", events[0].version)
    if window.scores is not None and batch.probabilities is not None:
        try:
            add_scores(window, batch.probabilities)
        except Exception:  # odd shapes: the estimate skips them, the rest still counts
            log.exception("could not count the probabilities of %s", events[0].version)
    window.add_latencies(batch.latencies)
    window.rows += columns.rows
    window.requests += len(events)
