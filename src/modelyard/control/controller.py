"""The controller: while it holds the lease, every tick advances the rollouts and
evaluates the policies. It runs on a thread inside ``modelyard serve`` and alone as
``modelyard controller``; any number may run, one acts.

Everything it knows lives in the store (rollout step and start time, policy breach
state), so a controller that takes over — after a crash, mid-step — carries on from
what is stored, not from memory.

It acts through three narrow services (``ports.py``); ``modelyard.services.compose.
build_controller`` is the one place that builds it, for ``serve`` and ``controller`` alike.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from modelyard.control import canary, policies
from modelyard.control.actions import Actions, Retry
from modelyard.control.lease import Lease
from modelyard.control.ports import Ports
from modelyard.control.webhooks import Webhooks
from modelyard.errors import Conflict, first_line
from modelyard.store.schema import utcnow

log = logging.getLogger(__name__)


COMPACT_EVERY = timedelta(hours=1)


class Controller:
    def __init__(
        self,
        ports: Ports,
        lease: Lease,
        *,
        interval: float = 5.0,
        retry: Retry | None = None,
        webhooks: Webhooks | None = None,
    ) -> None:
        self.ports = ports
        self.interval = interval
        self.lease = lease
        self.actions = Actions(ports.traffic, ports.registry, retry=retry, webhooks=webhooks)
        self.leading = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._compacted_at: datetime | None = None

    def tick(self, now: datetime | None = None) -> bool:
        """One round if this process holds the lease; returns whether it acted."""
        held = self.lease.acquire()
        if held != self.leading:
            log.info("controller lease %s", "taken: this process acts" if held else "lost")
            self.leading = held
        if not held:
            return False
        now = now or utcnow()
        for rollout in self.ports.traffic.rollouts.active():
            try:
                canary.tick(self.ports, rollout, self.actions, now)
            except Conflict as exc:  # someone paused or aborted it meanwhile: next tick
                log.info("rollout %d moved meanwhile: %s", rollout.id, first_line(exc))
            except Exception:
                log.exception("rollout %d: tick failed; will retry", rollout.id)
        policies.tick(self.ports, self.actions, now)
        self._compact_when_due()
        return True

    def _compact_when_due(self) -> None:
        """Downsample old monitor windows once an hour (what is folded is a day old: no
        rollout or policy reads it, and the result is the same sketches, merged)."""
        now = utcnow()
        if self._compacted_at is not None and now - self._compacted_at < COMPACT_EVERY:
            return
        self._compacted_at = now
        try:
            self.ports.monitor.compact_monitoring()
        except Exception:
            log.exception("monitor compaction failed; will retry in an hour")

    # -- as a thread ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="controller", daemon=True)
        self._thread.start()

    def run(self) -> None:
        """Tick until stopped; a failing tick (database away) is logged and retried."""
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("controller tick failed; will retry")
            self._stop.wait(self.interval)

    def request_stop(self) -> None:
        """Ask ``run`` to return after the current tick (safe from a signal handler)."""
        self._stop.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.actions.close(wait=2.0)
        self.lease.release()
