"""The numbers conditions read: one version's monitor summary flattened to metric → value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelyard.domain.conditions import METRICS

QUALITY = ("accuracy", "precision", "recall", "f1", "roc_auc", "mae", "rmse", "r2")


def version_metrics(version: Mapping[str, Any] | None) -> dict[str, float | None]:
    """``version``: one entry of ``summarize(...)["versions"]`` (None: no traffic at all)."""
    values: dict[str, float | None] = dict.fromkeys(METRICS)
    if version is None:
        values["requests"] = values["rows"] = values["attempts"] = values["labeled"] = 0.0
        return values
    requests = float(version.get("requests") or 0)
    values["requests"] = requests
    # Requests that reached the version, failed ones included: a candidate that fails
    # every request has no rows, yet plenty of evidence.
    values["attempts"] = requests + float(sum((version.get("errors") or {}).values()))
    values["rows"] = float(version.get("rows") or 0)
    values["error_rate"] = version.get("error_rate")
    values["client_error_rate"] = version.get("client_error_rate")
    latency = version.get("latency_ms") or {}
    for q in (50, 95, 99):
        values[f"p{q}_ms"] = latency.get(f"p{q}")
    values["drift_share"] = version.get("drift_share")
    drift = version.get("drift") or {}
    output = drift.get("output")
    if output is not None and output.get("verdict") in ("drift", "no drift"):
        values["output_drift"] = 1.0 if output["verdict"] == "drift" else 0.0
    values["feedback_coverage"] = (version.get("feedback") or {}).get("coverage")
    quality = version.get("quality") or {}
    for name in QUALITY:
        values[name] = quality.get(name)
    values["labeled"] = float(quality.get("labeled") or 0)
    return values


def endpoint_metrics(summary: Mapping[str, Any], ref: str | None) -> dict[str, float | None]:
    """The metrics of ``ref`` in an endpoint summary (the busiest version when None)."""
    versions = list(summary.get("versions") or [])
    if ref is None:
        return version_metrics(versions[0] if versions else None)
    return version_metrics(next((v for v in versions if v.get("version") == ref), None))
