"""``monitor status``'s table of performance estimated without labels, with the realized
value beside each estimate once labels arrive."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from modelyard.cli.output import say, table
from modelyard.formatting import brief

if TYPE_CHECKING:
    from modelyard.domain.estimates import EstimatedMetric
    from modelyard.domain.monitor_results import VersionMonitor

SHOWN = {"cbpe": ("accuracy", "f1", "roc_auc"), "dle": ("mae", "rmse")}


def estimate_table(endpoint: str, since: str, versions: Sequence[VersionMonitor]) -> None:
    """One row per version registered with a holdout (nothing when there is none), in a
    table per method: a classifier's (CBPE) and a regressor's (DLE) metrics differ."""
    for method, shown in SHOWN.items():
        rows = []
        for v in versions:
            estimate = v.estimate
            if estimate is None or estimate.method != method:
                continue
            rows.append(
                [v.version, estimate.rows]
                + [
                    _cell(estimate.metrics[name]) if name in estimate.metrics else brief(None)
                    for name in shown
                ]
                + ["isotonic" if estimate.calibrated else "raw scores"]
            )
        if not rows:
            continue
        table(
            f"{endpoint}, estimated without labels ({method.upper()}), last {since}",
            [
                "version",
                "rows",
                *(f"{n} est. [95 %] / holdout / realized" for n in shown),
                "scores",
            ],
            rows,
        )
        say("estimates assume only the inputs shifted (see docs/monitoring.md)")


def _cell(metric: EstimatedMetric) -> str:
    interval = (
        f" [{brief(metric.low)}–{brief(metric.high)}]"
        if metric.low is not None and metric.high is not None
        else ""
    )
    return f"{brief(metric.value)}{interval} / {brief(metric.reference)} / {brief(metric.realized)}"
