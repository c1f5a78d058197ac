"""``GET /api/v1/shows/{show_id}/review``: the post-live review of a show (``analytics.read``).

A live show answers a partial review (``"partial": true``, figures as of now); a show that never
went live answers 409 ``review.show_not_started``; another shop's show 404 ``rooms.show_not_found``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from liveloop.analytics.review_models import Review
from liveloop.analytics.review_service import get_review
from liveloop.core.container import ContainerDep
from liveloop.core.schemas import ERROR_RESPONSES, ErrorBody
from liveloop.shops import PrincipalDep

router = APIRouter(
    prefix="/api/v1",
    responses=ERROR_RESPONSES | {503: {"model": ErrorBody, "description": "The event store did not answer"}},
    tags=["analytics"],
)
Id = Annotated[int, Path(ge=1, le=2**53)]


@router.get("/shows/{show_id}/review", response_model=Review)
async def read_review(container: ContainerDep, principal: PrincipalDep, show_id: Id) -> Review:
    """Headline KPIs (the metrics schema's totals), minutes, products ranked by GMV and product GPM,
    traffic sources, new vs returning viewers, retention, funnel, every live tool's outcome, the rank
    among the shop's earlier shows, and suggestions for the next show."""
    return await get_review(container, principal, show_id)
