"""Admin API for the monitor: the same summary ``monitor status`` prints, as JSON."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from modelyard.domain.monitoring import parse_period
from modelyard.errors import InvalidInput
from modelyard.monitoring.segment_summary import by_feature
from modelyard.serving.auth import require
from modelyard.serving.dataplane import admin_of
from modelyard.serving.status import json_response
from modelyard.serving.storecall import SUMMARY_SECONDS, from_store

router = APIRouter(tags=["admin"])
MAX_PERIOD = timedelta(days=31)


@router.get(
    "/api/endpoints/{name}/monitor",
    dependencies=[Depends(require("read"))],
    summary="Traffic, latency, errors, drift and quality per version",
)
async def monitor(
    name: str,
    request: Request,
    since: str = Query("1h", description="Period to summarise: 90s, 15m, 1h, 7d …"),
    histograms: bool = Query(False, description="Include reference vs current counts."),
    by: str | None = Query(
        None, description="Only this segmenting feature's segments (worst first)."
    ),
) -> Response:
    period = parse_period(since)
    if period > MAX_PERIOD:  # a read key must not be able to keep the server busy for minutes
        raise InvalidInput(
            f"since {since!r}: at most {MAX_PERIOD.days} days over HTTP; use "
            "`modelyard monitor status|report` for longer periods"
        )
    admin = admin_of(request)
    summarize = admin.monitor_summary

    def summary() -> dict[str, Any]:  # JSON built on the store thread too, off the loop
        found = summarize(name, period, histograms)
        if by is not None:
            split_by = admin.traffic.get_endpoint(name).monitoring.segments.features
            found = by_feature(found, by, split_by)
        return found.to_json()

    return json_response(await from_store(request, summary, timeout=SUMMARY_SECONDS))
