"""HTTP routes of the live metrics: a show's figures now, fresh within about a second."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from liveloop.analytics.live import LiveMetrics
from liveloop.analytics.live_schema import ShowMetrics
from liveloop.core.schemas import ERROR_RESPONSES
from liveloop.shops import Permission, PrincipalDep, check_permission

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["analytics"])


@router.get("/shows/{show_id}/metrics", response_model=ShowMetrics)
async def read_show_metrics(
    request: Request,
    principal: PrincipalDep,
    show_id: Annotated[int, Path(ge=1, le=2**53)],
    minutes: Annotated[bool, Query(description="Include the per-minute rows.")] = True,
) -> dict[str, Any]:
    """The show's live metrics (definitions: METRICS.md), global across nodes.

    Built from the live counters and the show's row, never by scanning events; every rate carries its
    numerator, denominator and base. A show of another shop is ``rooms.show_not_found``.
    """
    check_permission(principal, Permission.ANALYTICS_READ)
    metrics: LiveMetrics = request.app.state.live_metrics
    return await metrics.snapshot(principal.shop_id, show_id, minutes=minutes)
