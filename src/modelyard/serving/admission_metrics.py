"""What admission sees, read from the live table at scrape time (see runtime/admission.py).

Kept apart from metrics.py: two gauges per served version, nothing on the request path.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from modelyard.runtime.table import EndpointTable


class AdmissionCollector(Collector):
    def __init__(self, table: EndpointTable) -> None:
        self.table = table

    def collect(self) -> Iterator[GaugeMetricFamily]:
        wait = GaugeMetricFamily(
            "modelyard_expected_wait_seconds",
            "What a request to this endpoint's version would wait now: the rows ahead of it "
            "at the version's cost per row.",
            labels=["endpoint", "version"],
        )
        cost = GaugeMetricFamily(
            "modelyard_row_cost_seconds",
            "Seconds one row costs the version (moving average over its batches).",
            labels=["version"],
        )
        versions = {}
        for name, active in self.table.active.items():
            for variant in active.every:
                ref = variant.loaded.ref
                wait.add_metric([name, ref], variant.batcher.expected_wait)
                versions[ref] = variant.batcher.cost.seconds_per_row
        for ref, seconds in versions.items():
            cost.add_metric([ref], seconds)
        yield wait
        yield cost
