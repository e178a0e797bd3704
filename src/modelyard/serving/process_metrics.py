"""CPU, memory, open files and threads of each server process, read with psutil.

prometheus_client's process collector reports only the process that answers the scrape
and does not work in multiprocess mode, so this one reports every live worker of the
server (and the ``serve`` parent that supervises them and runs the controller), labelled
by ``pid`` and ``role``. Workers are found by their live-gauge files in the shared metrics
folder; a worker found dead there is marked dead (its live gauges leave the merge).
"""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Callable, Iterator

import psutil
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import mark_process_dead
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
_LIVE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db$")


def live_workers(shared_dir: str | None) -> list[tuple[int, str]]:
    """(pid, role) of this server's processes: this one alone without a shared folder."""
    me = os.getpid()
    if shared_dir is None:
        return [(me, "worker")]
    parent = os.getppid()
    pids = {
        int(match.group(1))
        for path in glob.glob(os.path.join(shared_dir, "gauge_live*.db"))
        if (match := _LIVE_FILE.search(path))
    }
    workers = [me]
    for pid in sorted(pids - {me, parent}):
        if _sibling(pid, parent):
            workers.append(pid)
        else:  # died (maybe killed): its queue and in-flight gauges must not count
            mark_process_dead(pid, shared_dir)  # type: ignore[no-untyped-call]
    return [(pid, "worker") for pid in sorted(workers)] + [(parent, "supervisor")]


def _sibling(pid: int, parent: int) -> bool:
    """Alive (not a zombie waiting to be reaped) and started by the same parent (a reused
    pid is someone else's process)."""
    try:
        process = psutil.Process(pid)
        return process.ppid() == parent and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class ProcessResources(Collector):
    def __init__(self, processes: Callable[[], list[tuple[int, str]]]) -> None:
        self.processes = processes

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        labels = ["pid", "role"]
        cpu = CounterMetricFamily(
            "modelyard_process_cpu_seconds",
            "CPU time (user + system) a server process used.",
            labels=labels,
        )
        memory = GaugeMetricFamily(
            "modelyard_process_resident_memory_bytes",
            "Resident memory of a server process.",
            labels=labels,
        )
        fds = GaugeMetricFamily(
            "modelyard_process_open_fds",
            "Open file descriptors of a server process.",
            labels=labels,
        )
        threads = GaugeMetricFamily(
            "modelyard_process_threads", "Threads of a server process.", labels=labels
        )
        for pid, role in self.processes():
            try:
                process = psutil.Process(pid)
                with process.oneshot():
                    times = process.cpu_times()
                    key = [str(pid), role]
                    cpu.add_metric(key, times.user + times.system)
                    memory.add_metric(key, process.memory_info().rss)
                    if hasattr(process, "num_fds"):  # not on Windows
                        fds.add_metric(key, process.num_fds())
                    threads.add_metric(key, process.num_threads())
            except psutil.Error:  # gone between the listing and now
                continue
        yield from (cpu, memory, fds, threads)
